"""FID per objective: one point per run of the panel's distribution (one run per setting in a
search, the seeds of the setting in a seeds phase), a box from 5 runs on, diverged runs as x
marks in a strip at the top of the axis (they score +inf, so they count in the box too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from analysis.plots.common import (
    FID_WORDS,
    PAPER_STYLE,
    PlotResult,
    finish,
    floor_line,
    layout,
    legend_below,
    log_scale,
    new_figure,
    palette,
    panel_title,
    paper_for,
    paper_values,
    reference_handles,
    set_log_y,
)
from analysis.stats import KIND_WORDS, distributions, panel_floor, scored_panels
from analysis.style import gan_label, plural

MIN_BOX = 5  # a box of 2-4 points says less than the points: a median bar then


def _box_stats(values: np.ndarray, top: float) -> dict[str, float]:
    # quartiles with +inf counted (the diverged strip stands in for +inf), whiskers 1.5 IQR
    q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75], method="lower")
    iqr = q3 - q1
    lo = values[values >= q1 - 1.5 * iqr].min()
    hi = values[values <= q3 + 1.5 * iqr].max() if np.isfinite(q3) else np.inf
    return {k: (v if np.isfinite(v) else top) for k, v in
            {"med": med, "q1": q1, "q3": q3, "whislo": lo, "whishi": hi}.items()}


def _limits(shown: np.ndarray, log: bool) -> tuple[float, float, float, float]:
    """(bottom, top of the data, y of the diverged strip, top of the axis): the strip sits
    above the data, a fixed share of the axis, in the axis' own (log or linear) scale."""
    t, back = (np.log, np.exp) if log else (lambda v: v, lambda v: v)
    if not len(shown):
        lo = hi = 1.0
    else:
        lo, hi = float(shown.min()), float(shown.max())
    span = t(hi) - t(lo) or (np.log(2.0) if log else abs(hi) or 1.0)
    return (float(back(t(lo) - 0.06 * span)), float(back(t(hi) + 0.05 * span)),
            float(back(t(hi) + 0.16 * span)), float(back(t(hi) + 0.3 * span)))


def _objective(ax: Axes, i: int, gan: str, s: np.ndarray, col: str, strip_y: float,
               rng: np.random.Generator) -> None:
    finite, n_div = s[np.isfinite(s)], int(np.isinf(s).sum())
    if len(s) >= MIN_BOX:
        stats = _box_stats(s, strip_y)
        ax.bxp([stats], positions=[i], widths=0.6, showfliers=False, patch_artist=True,
               boxprops={"facecolor": "none", "edgecolor": "black", "linewidth": 1.1,
                         "gid": f"box:{gan}"},
               medianprops={"color": "black", "linewidth": 2}, zorder=4)
    elif len(s):
        med = np.quantile(s, 0.5, method="lower")
        ax.plot([i - 0.25, i + 0.25], [med if np.isfinite(med) else strip_y] * 2, color="black",
                linewidth=1.5, zorder=4, gid=f"median:{gan}")
    many = len(finite) > 60
    ax.scatter(i + rng.uniform(-0.2, 0.2, len(finite)), finite, s=8 if many else 26,
               alpha=0.5 if many else 0.95, color=col, edgecolor="none" if many else "white",
               linewidth=0.5, zorder=3, gid=f"runs:{gan}")
    if n_div:
        ax.scatter(i + rng.uniform(-0.2, 0.2, n_div), np.full(n_div, strip_y), marker="x",
                   s=30, color=col, linewidth=1.2, zorder=3, gid=f"diverged:{gan}")


def plot_distribution(runs: pd.DataFrame, out_dir: Path | None = None,
                      fid: str = "final") -> PlotResult:
    """Box + strip of per-run FID per objective, one axis per panel."""
    result = PlotResult("fid_distribution", "FID per objective", caption=(
        f"{FID_WORDS[fid].capitalize()} of each run per objective: points are runs, black bars "
        "medians, boxes quartiles and whiskers 1.5 IQR (from 5 runs on). Diverged runs score "
        "+∞: they are the x marks in the top strip and count in the quartiles. In a search "
        f"panel: {KIND_WORDS['search']}; in a seeds panel: {KIND_WORDS['seeds']}. Dotted: the "
        "real-vs-real floor; dashed: the paper's value where the protocol matches."))
    groups = [(p, *distributions(p)) for p in scored_panels(runs, fid)]
    if not groups:
        result.note = "no completed or diverged runs"
        return result
    cols, paper = palette(runs), paper_values(runs)
    n_gans = max(len(d) for _, _, d in groups)
    fig, axes = new_figure(len(groups), 2 if n_gans > 5 else 3, max(5.0, 0.75 * n_gans + 1.5),
                           4.4)
    rng = np.random.default_rng(0)
    any_floor = any_paper = False
    for ax, (panel, kind, dists) in zip(axes, groups, strict=True):
        values = {g: d["score"].to_numpy() for g, d in dists.items()}
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
        floor, ref = panel_floor(panel.runs), paper_for(paper, panel.dataset, panel.protocol)
        extra = [floor] + [ref[g] for g in values if g in ref]
        shown = np.concatenate([finite, [x for x in extra if np.isfinite(x)]])
        log = log_scale(shown)
        bottom, top, strip_y, ymax = _limits(shown, log)
        labels = []
        for i, (gan, s) in enumerate(values.items()):
            _objective(ax, i, gan, s, cols[gan], strip_y, rng)
            if gan in ref:
                ax.plot([i - 0.35, i + 0.35], [ref[gan]] * 2, gid=f"paper:{gan}", **PAPER_STYLE)
                any_paper = True
            n_div = int(np.isinf(s).sum())
            labels.append(f"{gan_label(gan)}\n{plural(len(s), 'run')}"
                          + (f"\n{n_div} diverged" if n_div else ""))
        any_floor |= floor_line(ax, floor)
        ax.axhspan(top, ymax, color="#f0f0f0", zorder=0, gid="diverged_strip")
        ax.text(0.01, 0.99, "diverged (+∞)", transform=ax.transAxes, ha="left", va="top",
                fontsize=7, color="#444444")
        if log:
            set_log_y(ax)
        ax.set_ylim(bottom, ymax)
        ax.set_xticks(range(len(values)), labels, fontsize=9)
        for tick, gan in zip(ax.get_xticklabels(), values, strict=True):
            tick.set_color(cols[gan])
        ax.set_xlim(-0.6, len(values) - 0.4)
        ax.set_ylabel(f"{FID_WORDS[fid]}{' (log scale)' if log else ''}  ↓ better")
        ax.set_title(f"{panel_title(panel.dataset, panel.protocol, panel.phase)}\n{kind}: "
                     f"{KIND_WORDS[kind]}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles = [(Line2D([], [], marker="x", linestyle="none", color="#444444"),
                "diverged run (+∞)")] + reference_handles(any_floor, any_paper)
    legend_below(fig, handles)
    fig.suptitle(f"FID per objective ({FID_WORDS[fid]}), one point per run", fontsize=12)
    layout(fig, 1)
    return finish(result, fig, out_dir)
