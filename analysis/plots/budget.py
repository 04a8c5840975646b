"""The study's central figure: minimum FID vs computational budget (analysis.budget), one
figure per search panel, one small axis per objective so every objective keeps its band; the
other objectives' curves in grey behind for comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from analysis.budget import budget_curves
from analysis.plots.common import (
    FID_WORDS,
    PAPER_STYLE,
    PlotResult,
    band,
    finish,
    floor_line,
    layout,
    legend_below,
    log_scale,
    new_figure,
    palette,
    panel_slug,
    panel_title,
    paper_for,
    paper_values,
    reference_handles,
    set_log_y,
)
from analysis.stats import add_panels, panel_floor, panels
from analysis.style import gan_label, plural

OTHERS = "#c8c8c8"


def _caption(fid: str, boot: int) -> str:
    return (f"Minimum {FID_WORDS[fid]} reached by a budget of k hyperparameter settings picked "
            "at random (without replacement) from those searched: the exact expectation over "
            "all k-subsets (solid; the mean at k = 1, the best run at k = n), with the 95% "
            f"bootstrap band (the same statistic on {boot:,} resamples of the runs that did not "
            "diverge, the diverged ones kept). Where k is "
            "at most the number of diverged runs the expectation is infinite (a k-subset of only "
            "diverged runs exists): the dashed line is then the median of the minimum and the "
            "axis notes the chance that some run of k did not diverge. Grey: the other "
            "objectives. Dotted: the real-vs-real floor; dashed black: the paper's value where "
            "the protocol matches.")


def _one(ax: Axes, gan: str, c: pd.DataFrame, others: dict[str, pd.DataFrame], col: str,
         top: float) -> None:
    for o in others.values():
        ax.plot(o["k"], o["value"].clip(upper=top), color=OTHERS, linewidth=1, zorder=1)
    k = c["k"].to_numpy()
    value = c["value"].to_numpy(dtype=np.float64)
    is_mean = (c["stat"] == "mean").to_numpy()
    band(ax, k, c["lo"].to_numpy(dtype=np.float64),
         np.minimum(c["hi"].to_numpy(dtype=np.float64), top), col, gid=f"band:{gan}")
    marker = "o" if len(k) <= 12 else None
    ax.plot(k[is_mean], value[is_mean], "-", marker=marker, markersize=4, color=col,
            linewidth=2, zorder=3, gid=f"mean:{gan}")
    med = ~is_mean & np.isfinite(value)
    if med.any():
        # join the dashed median to the first mean point so the curve reads as one
        last = np.flatnonzero(med)[-1]
        stop = min(last + 2, len(k))
        ax.plot(k[:stop][med[:stop] | is_mean[:stop]], value[:stop][med[:stop] | is_mean[:stop]],
                "--", color=col, linewidth=1.6, zorder=3, gid=f"median:{gan}")
    n, d = int(c["n"].iloc[0]), int(c["n_diverged"].iloc[0])
    text = plural(n, "setting") + (f", {d} diverged" if d else "")
    if d:
        text += (f"\nk ≤ {d}: median (mean ∞); P(a finite run) "
                 f"{float(c['p_finite'].iloc[0]):.2f} at k = 1")
    ax.set_title(gan_label(gan), color=col, fontsize=10, fontweight="bold")
    ax.set_xlabel(f"budget k: settings tried\n{text}", fontsize=8)


def _axis_format(ax: Axes, kmax: int, log: bool, fid: str, first: bool) -> None:
    if kmax > 20:  # the curve drops within the first few k: spread them out
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        set_log_y(ax)
    if kmax > 20:
        ax.set_xlabel(ax.get_xlabel().replace("tried", "tried (log)", 1), fontsize=8)
    if first:
        ax.set_ylabel(f"min {FID_WORDS[fid]} over k{' (log)' if log else ''}  ↓", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _figure(panel_curves: pd.DataFrame, floor: float, ref: dict[str, float],
            cols: dict[str, str], fid: str) -> tuple[object, bool, bool]:
    by_gan = {g: c for g, c in panel_curves.groupby("gan", sort=False)}
    values = np.concatenate([c["value"].to_numpy(dtype=np.float64) for c in by_gan.values()]
                            + [c["lo"].to_numpy(dtype=np.float64) for c in by_gan.values()]
                            + [np.array([floor, *[ref[g] for g in by_gan if g in ref]])])
    values = values[np.isfinite(values)]
    log = log_scale(values)
    # the top from the curves at k = 1 (the mean), not the bands' upper edges (the worst runs)
    starts = np.array([c["value"].iloc[0] for c in by_gan.values()], dtype=np.float64)
    starts = starts[np.isfinite(starts)]
    top = float(max(starts.max() if len(starts) else 1.0, values.max() if len(values) else 1.0))
    top *= 1.3 if log else 1.08
    fig, axes = new_figure(len(by_gan), 4, 3.5, 3.0, sharey=True)
    any_floor = any_paper = False
    for i, (ax, (gan, c)) in enumerate(zip(axes, by_gan.items(), strict=True)):
        _one(ax, gan, c, {g: o for g, o in by_gan.items() if g != gan}, cols[gan], top)
        any_floor |= floor_line(ax, floor)
        if gan in ref:
            ax.axhline(ref[gan], gid=f"paper:{gan}", **PAPER_STYLE)
            any_paper = True
        _axis_format(ax, int(panel_curves["k"].max()), log, fid, i % 4 == 0)
    axes[0].set_ylim(top=top)
    return fig, any_floor, any_paper


def plot_budget(runs: pd.DataFrame, out_dir: Path | None = None, fid: str = "final",
                boot: int = 1000, seed: int = 0,
                curves: pd.DataFrame | None = None) -> list[PlotResult]:
    """One figure per search panel; a single result with a note when there is nothing to draw
    (no search panel, or one setting per objective)."""
    data = budget_curves(runs, fid, boot, seed) if curves is None else curves
    caption = _caption(fid, boot)
    if data.empty:
        return [PlotResult("budget", "Minimum FID vs computational budget", caption=caption,
                           note="no search over settings in these runs (a budget curve needs "
                                "several settings per objective)")]
    cols, paper = palette(runs), paper_values(runs)
    by_panel = {(p.dataset, p.protocol, p.phase): p.runs for p in panels(add_panels(runs))}
    out = []
    for (d, proto, phase), pc in data.groupby(["dataset", "protocol", "phase"], sort=False):
        name = f"budget_{panel_slug(d, proto, phase)}"
        title = f"Minimum FID vs budget: {panel_title(d, proto, phase)}"
        kept = pc[pc["n"] > 1]
        if kept.empty:
            out.append(PlotResult(name, title, caption=caption,
                                  note="one setting per objective: no budget to spend"))
            continue
        single = sorted(set(pc["gan"]) - set(kept["gan"]))
        floor = panel_floor(by_panel.get((d, proto, phase), pd.DataFrame()))
        fig, any_floor, any_paper = _figure(kept, floor, paper_for(paper, d, proto), cols, fid)
        handles = [(Line2D([], [], color="#333333", linewidth=2), "expected best (exact)"),
                   (Line2D([], [], color="#333333", linestyle="--"),
                    "median where the mean is infinite"),
                   (Patch(color="#333333", alpha=0.18), "95% bootstrap band"),
                   (Line2D([], [], color=OTHERS), "other objectives")]
        legend_below(fig, handles + reference_handles(any_floor, any_paper), ncol=3)
        left = (f"\nleft out (one setting): {', '.join(gan_label(g) for g in single)}"
                if single else "")
        fig.suptitle(f"{title}{left}", fontsize=11)
        layout(fig, 2, 2 if single else 1)
        out.append(finish(PlotResult(name, title, caption=caption), fig, out_dir))
    return out
