"""What every figure shares: the result type, figure creation and saving, scales, bands,
reference lines (real-vs-real floor, the paper's value) and the legend outside the data.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot state): a plot function returns
them in its PlotResult, so tests read axes, lines and labels before (or instead of) saving.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from analysis.collect import COMPLETED
from analysis.stats import NO_PHASE, phase_title, split_phases
from analysis.style import TOY_DATASETS, colours, dataset_label

FORMATS = ("png", "pdf")
FID_WORDS = {"final": "final FID", "best": "best FID during training"}
FLOOR_STYLE = {"color": "#555555", "linestyle": ":", "linewidth": 1.3}
PAPER_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}
REFERENCE_NAME = "Lucic et al. 2018"


@dataclass
class PlotResult:
    """One figure: `figure` (kept for inspection), the files written (none without an output
    directory), or why it was not drawn (`note`); `caption` explains it in one paragraph."""

    name: str
    title: str = ""
    files: list[Path] = field(default_factory=list)
    note: str = ""
    caption: str = ""
    figure: Figure | None = None


def new_figure(n: int, ncols: int, width: float, height: float,
               sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """n axes of width x height inches on a grid of `ncols` columns; unused cells hidden."""
    ncols = max(1, min(n, ncols))
    nrows = max(1, math.ceil(n / ncols))
    fig = agg_figure((width * ncols, height * nrows + 1.0))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def agg_figure(size: tuple[float, float]) -> Figure:
    """A Figure on its own Agg canvas: drawable (tests measure where artists land) without
    pyplot's global list of open figures."""
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def finish(result: PlotResult, fig: Figure, out_dir: Path | None) -> PlotResult:
    """Attach the figure and, given a directory, write it in every format."""
    result.figure = fig
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for ext in FORMATS:
            path = out_dir / f"{result.name}.{ext}"
            fig.savefig(path, dpi=150, bbox_inches="tight")
            result.files.append(path)
    return result


def log_scale(values: np.ndarray) -> bool:
    """Log y when the finite positive values span more than 30x (FID from 1000s down to 10s)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() > 30


def set_log_y(ax: Axes) -> None:
    """Log y with plain tick labels (0.5, 1, 2, 3, 5, 10, ...) instead of 10^x."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def band(ax: Axes, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, col: str,
         gid: str | None = None) -> None:
    """A light fill in the objective's colour (one per axis: small multiples never stack them)."""
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.fill_between(x[ok], lo[ok], hi[ok], color=col, alpha=0.18, linewidth=0, gid=gid)


def panel_title(dataset: str, protocol: str, phase: str = NO_PHASE) -> str:
    phase_part = f"  ·  {phase_title(phase)}" if phase != NO_PHASE else ""
    # on the 2-D toys the FID of raw points compares two fitted Gaussians and nothing else
    moments = " (two moments only)" if dataset in TOY_DATASETS else ""
    return f"{dataset_label(dataset)}  ·  {protocol}{moments}{phase_part}"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def completed_panels(runs: pd.DataFrame, datasets: Iterable[str]
                     ) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(dataset, figure-name suffix, its completed runs) per phase and dataset that has any; the
    suffix names the phase when there are several, so their figures never share a file."""
    split = split_phases(runs)
    for phase, in_phase in split:
        for dataset in datasets:
            g = in_phase[(in_phase["dataset"] == dataset) & (in_phase["status"] == COMPLETED)]
            if not g.empty:
                yield dataset, (f"_{slug(phase)}" if len(split) > 1 and phase else ""), g


def panel_slug(dataset: str, protocol: str, phase: str) -> str:
    return slug("_".join(x for x in (dataset, protocol, phase) if x))


def palette(runs: pd.DataFrame) -> dict[str, str]:
    """One colour per objective of the whole runs table, so every figure agrees."""
    return colours(runs["gan"].dropna().astype(str).unique())


def floor_line(ax: Axes, floor: float) -> bool:
    """The real-vs-real floor as a dotted line; False when the runs recorded none."""
    if not math.isfinite(floor):
        return False
    ax.axhline(floor, gid="floor", **FLOOR_STYLE)
    return True


def reference_handles(floor: bool, paper: bool) -> list[tuple[Line2D, str]]:
    out = []
    if floor:
        out.append((Line2D([], [], **FLOOR_STYLE),
                    "real-vs-real floor (what a perfect generator scores)"))
    if paper:
        out.append((Line2D([], [], **PAPER_STYLE), f"{REFERENCE_NAME} (same protocol)"))
    return out


def legend_below(fig: Figure, handles: list[tuple[object, str]], ncol: int = 3) -> None:
    """One legend for the figure, under the axes: never over the data."""
    if not handles:
        return
    fig.legend([h for h, _ in handles], [lab for _, lab in handles], loc="lower center",
               ncol=min(ncol, len(handles)), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))


def layout(fig: Figure, legend_rows: int, title_lines: int = 1) -> None:
    """tight_layout that keeps room for a suptitle on top and the legend below."""
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, min(0.4, (0.25 * legend_rows + 0.1) / h), 1,
                           1 - min(0.3, (0.1 + 0.2 * title_lines) / h)))


def paper_values(runs: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """{(dataset, protocol label): {objective: the paper's FID}} where our runs share the
    paper's dataset and protocol (elsewhere the paper's number is not comparable)."""
    from analysis.tables import load_reference

    try:
        ref = load_reference()
    except (OSError, ValueError):  # no reference table: no lines
        return {}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for (d, p), sub in ref.groupby(["dataset", "protocol"]):
        out[(str(d), str(p))] = dict(zip(sub["gan"], sub["fid_mean"].astype(float), strict=True))
    return out


def paper_for(paper: dict[tuple[str, str], dict[str, float]], dataset: str,
              protocol: str) -> dict[str, float]:
    """The paper's values for a panel (protocol labels may carry a ' [weights id]' suffix)."""
    for (d, p), values in paper.items():
        if d == dataset and (protocol == p or protocol.startswith(p + " [")):
            return values
    return {}
