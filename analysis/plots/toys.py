"""2-D toys: generated points of the best and the worst run of each objective, ranked by mode
coverage and high-quality fraction (raw FID compares two moments only and can rank a generator
that smears its mass between the modes first); each panel titled with its modes and
high-quality fraction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.plots.common import (
    FID_WORDS,
    PlotResult,
    agg_figure,
    completed_panels,
    finish,
    palette,
    slug,
)
from analysis.stats import scores
from analysis.style import TOY_DATASETS, gan_label, order_gans, plural
from benchmark import rundir

PointsLoader = Callable[[pd.Series], "np.ndarray | None"]


def run_points(row: pd.Series) -> np.ndarray | None:
    """The last evaluation's generated points of a run (benchmark.rundir), or None."""
    if not isinstance(row.get("run_dir"), str):
        return None
    return rundir.read_points(row["run_dir"])


def mode_centres(row: pd.Series) -> np.ndarray | None:
    """The mixture centres from the dataset config (ring8: radius; grid25: spacing)."""
    name = row.get("dataset")
    if name == "ring8" and pd.notna(row.get("dataset.radius")):
        a = 2 * np.pi * np.arange(8) / 8
        return float(row["dataset.radius"]) * np.stack([np.cos(a), np.sin(a)], axis=1)
    if name == "grid25" and pd.notna(row.get("dataset.spacing")):
        c = float(row["dataset.spacing"]) * np.arange(-2, 3)
        return np.array([(x, y) for x in c for y in c])
    return None


def toy_grid(n_objectives: int) -> tuple[int, int]:
    """(best/worst pairs per row, rows) of the toys figure: one pair per row for a few
    objectives, up to three side by side for many, so 16 objectives stay readable on a page."""
    pairs = 1 if n_objectives <= 3 else 2 if n_objectives <= 8 else 3
    return pairs, -(-n_objectives // pairs)


def _rank(g: pd.DataFrame) -> pd.DataFrame:
    # best first: most modes, then most high-quality mass, then lowest FID
    keys = {"_m": "final_modes_covered", "_q": "final_high_quality"}
    g = g.assign(**{k: pd.to_numeric(g[c], errors="coerce").fillna(-1) if c in g else -1.0
                    for k, c in keys.items()})
    return g.sort_values(["_m", "_q", "score"], ascending=[False, False, True], kind="stable")


def _describe(row: pd.Series, n_modes: int | None) -> str:
    m, q = row.get("final_modes_covered"), row.get("final_high_quality")
    parts = []
    if pd.notna(m):
        parts.append(f"{int(m)}{f'/{n_modes}' if n_modes else ''} modes")
    if pd.notna(q):
        parts.append(f"{100 * float(q):.0f}% high quality")
    if not parts:
        parts.append("modes not recorded")
    return ", ".join(parts) + f"; FID {row['score']:.3g}"


def _picks(g: pd.DataFrame, load: PointsLoader) -> list[tuple[str, int, tuple, tuple]]:
    picks = []
    for gan in order_gans(g["gan"].dropna().unique()):
        ranked = _rank(g[g["gan"] == gan])
        with_points = [(row, p) for _, row in ranked.iterrows() if (p := load(row)) is not None]
        if with_points:
            picks.append((gan, len(with_points), with_points[0], with_points[-1]))
    return picks


def _figure(dataset: str, picks: list, modes: np.ndarray | None, cols: dict[str, str]):
    pairs, rows = toy_grid(len(picks))
    fig = agg_figure((7.4 * pairs, 3.6 * rows + 0.6))
    axes = fig.subplots(rows, 2 * pairs, squeeze=False)
    for ax in axes.flat[2 * len(picks):]:
        ax.set_axis_off()  # the last row's unused pairs
    lim = np.abs(modes).max() * 1.6 if modes is not None else None
    for i, (gan, n_runs, best, worst) in enumerate(picks):
        r, c = divmod(i, pairs)
        for ax, (row, p), which in ((axes[r, 2 * c], best, "best"),
                                    (axes[r, 2 * c + 1], worst, "worst")):
            if which == "worst" and n_runs == 1:
                ax.set_axis_off()
                ax.text(0.5, 0.5, "only one run\nsaved samples", ha="center", va="center",
                        transform=ax.transAxes, color="grey")
                continue
            ax.scatter(p[:2000, 0], p[:2000, 1], s=3, alpha=0.4, color=cols[gan], linewidth=0)
            if modes is not None:
                ax.scatter(modes[:, 0], modes[:, 1], marker="+", s=60, color="black",
                           linewidth=1)
                ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
            ax.set_aspect("equal")
            n_modes = len(modes) if modes is not None else None
            ax.set_title(f"{gan_label(gan)}, {which} of {plural(n_runs, 'run')}\n"
                         f"{_describe(row, n_modes)}", fontsize=9, color=cols[gan])
            ax.set(xlabel="x₁", ylabel="x₂")
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{dataset}: the best (left) and worst (right) run of each objective by modes "
                 "covered, then high-quality fraction", fontsize=11,
                 y=1 - 0.15 / fig.get_figheight(), va="top")
    # keep ~0.5 inch for the title: tight_layout alone lets it overlap the top panels
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    return fig


def plot_toys(runs: pd.DataFrame, out_dir: Path | None = None, fid: str = "final",
              points: PointsLoader = run_points) -> list[PlotResult]:
    """For each 2-D toy dataset (and phase): samples of the best and the worst completed run per
    objective, among the runs whose points `points` can load."""
    runs = runs.assign(score=scores(runs, fid))
    toys = [d for d in TOY_DATASETS if (runs["dataset"] == d).any()]
    if not toys:
        return [PlotResult("toys", title="2-D samples",
                           note="no 2-D toy dataset (ring8, grid25) in these runs")]
    cols, out = palette(runs), []
    for dataset, suffix, g in completed_panels(runs, toys):
        res = PlotResult(f"toys_{slug(dataset)}{suffix}", f"2-D samples: {dataset}",
                         caption=(f"{dataset}: generated points of the best and the worst "
                                  "completed run of each objective by modes covered, then "
                                  f"high-quality fraction ({FID_WORDS[fid]} last), last "
                                  "saved samples; + marks the true modes."))
        picks = _picks(g, points)
        if not picks:
            res.note = (f"the {dataset} runs saved no point samples (samples/step_*.npz); "
                        "gan-train writes PNG grids for images only")
            out.append(res)
            continue
        modes = next((m for _, row in g.iterrows() if (m := mode_centres(row)) is not None),
                     None)
        out.append(finish(res, _figure(dataset, picks, modes, cols), out_dir))
    return out
