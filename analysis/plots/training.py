"""FID over training: median and interquartile band across the runs of each objective, one axis
per panel; the legend sits under the axes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from analysis.collect import COMPLETED, DIVERGED
from analysis.plots.common import (
    PlotResult,
    band,
    finish,
    layout,
    legend_below,
    log_scale,
    new_figure,
    palette,
    panel_title,
    set_log_y,
)
from analysis.stats import add_panels, panels
from analysis.style import gan_label, order_gans

AUTO_INDIVIDUAL_MAX = 5
MAX_BANDS = 4  # more interquartile bands on one axis read as a smear: medians only then


def _training_x(runs: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per-run factor from steps to the x axis: epochs when every run was scheduled in epochs
    (objectives with n_disc=5 make fewer generator steps per epoch), else generator steps."""
    if "train.epochs" in runs and "steps_planned" in runs:
        epochs = pd.to_numeric(runs["train.epochs"], errors="coerce")
        planned = pd.to_numeric(runs["steps_planned"], errors="coerce").astype("float64")
        if epochs.notna().all() and planned.notna().all() and (planned > 0).all():
            return epochs / planned, "epochs (passes over the train split)"
    return pd.Series(1.0, index=runs.index), "generator steps"


def _objective(ax: Axes, gan: str, sub: pd.DataFrame, scale: dict, col: str,
               individual: bool, bands: bool) -> None:
    per_run = [(r["step"].to_numpy() * scale[rid], r["value"].to_numpy())
               for rid, r in sub.sort_values("step").groupby("run_id")]
    grid = np.unique(np.concatenate([x for x, _ in per_run]))
    if len(grid) > 200:
        grid = np.linspace(grid.min(), grid.max(), 200)
    # each run on the common x grid, NaN outside its own range (a diverged run stops)
    mat = np.vstack([np.interp(grid, x, y, left=np.nan, right=np.nan) for x, y in per_run])
    if individual:
        for x, y in per_run:
            ax.plot(x, y, color=col, alpha=0.45, linewidth=0.8, gid=f"run:{gan}")
    with warnings.catch_warnings():  # "All-NaN slice": grid points no run reaches
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(mat, axis=0)
        q1, q3 = np.nanpercentile(mat, [25, 75], axis=0)
    if bands and len(per_run) > 1:
        band(ax, grid, q1, q3, col, gid=f"band:{gan}")
    ax.plot(grid, med, "-", marker="o" if len(grid) <= 12 else None, markersize=3, color=col,
            linewidth=2, gid=f"median:{gan}")


def plot_curves(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path | None = None,
                individual: bool | None = None, metric: str = "fid") -> PlotResult:
    """FID over training (completed and diverged runs). `individual` adds every run as a thin
    line; None (default) does so when no objective has more than AUTO_INDIVIDUAL_MAX runs in a
    panel, where a median and quartiles of a handful of runs hide more than they show."""
    runs = add_panels(runs)
    runs = runs[runs["status"].isin([COMPLETED, DIVERGED])]
    if individual is None:
        individual = bool(len(runs)) and (
            runs.groupby(["panel", "gan"]).size().max() <= AUTO_INDIVIDUAL_MAX)
    result = PlotResult("fid_over_training", "FID over training", caption=(
        "FID over training: median over the runs of each objective (thick line) and "
        f"interquartile band (axes with at most {MAX_BANDS} objectives)"
        + (", every run as a thin line" if individual else "")
        + "; a diverged run's line stops at its divergence."))
    c = curves[(curves["metric"] == metric) & curves["run_id"].isin(runs["run_id"])]
    c = c[np.isfinite(c["value"].to_numpy(dtype=np.float64))]
    if c.empty:
        result.note = f"no `{metric}` evaluations in the runs' metrics"
        return result
    groups = [p for p in panels(runs) if p.runs["run_id"].isin(c["run_id"]).any()]
    cols = palette(runs)
    fig, axes = new_figure(len(groups), 2, 6.0, 4.0)
    shown: list[str] = []
    for ax, panel in zip(axes, groups, strict=True):
        factor, xlabel = _training_x(panel.runs)
        scale = dict(zip(panel.runs["run_id"], factor, strict=True))
        cg = c[c["run_id"].isin(panel.runs["run_id"])]
        gans = order_gans(panel.runs["gan"].dropna().unique())
        for gan in gans:
            sub = cg[cg["run_id"].isin(panel.runs.loc[panel.runs["gan"] == gan, "run_id"])]
            if len(sub):
                _objective(ax, gan, sub, scale, cols[gan], individual, len(gans) <= MAX_BANDS)
                shown.append(gan)
        name = metric.upper() if metric == "fid" else metric
        if log_scale(cg["value"].to_numpy()):
            set_log_y(ax)
            name += " (log scale)"
        ax.set_ylabel(f"{name}  ↓ better")
        ax.set_xlabel(xlabel)
        ax.set_title(panel_title(panel.dataset, panel.protocol, panel.phase), fontsize=10)
        ax.grid(alpha=0.3)
    handles = [(Line2D([], [], color=cols[g], linewidth=2), gan_label(g))
               for g in order_gans(set(shown))]
    legend_below(fig, handles, ncol=4)
    fig.suptitle("FID over training: median across runs (thick), interquartile band (≤ 4 "
                 "objectives)"
                 + (", single runs (thin)" if individual else ""), fontsize=12)
    layout(fig, -(-len(handles) // 4))
    return finish(result, fig, out_dir)
