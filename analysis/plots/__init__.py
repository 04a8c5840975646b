"""`gan-analyze plot`: the study's figures from a runs table (matplotlib, Agg; PNG and PDF).

One module per figure: distribution (FID per objective), budget (minimum FID vs budget),
training (FID over training), precision_recall (P/R per run and vs budget), toys (2-D
samples), samples (image grids). Every figure keeps phases, datasets and FID protocols apart (numbers from different
protocols are not comparable), gives each objective one colour (analysis.style.colours) and
puts its legend outside the data. Each function returns PlotResults whose `figure` tests can
inspect; with an output directory the figure is also written as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

matplotlib.use("Agg")  # files only, never a window (and no display on a cluster node)

from analysis.plots.budget import plot_budget  # noqa: E402
from analysis.plots.common import FORMATS, PlotResult  # noqa: E402
from analysis.plots.distribution import plot_distribution  # noqa: E402
from analysis.plots.precision_recall import plot_pr_budget, plot_precision_recall  # noqa: E402
from analysis.plots.samples import plot_samples  # noqa: E402
from analysis.plots.toys import plot_toys, toy_grid  # noqa: E402
from analysis.plots.training import plot_curves  # noqa: E402

__all__ = ["FORMATS", "PLOTS", "PlotResult", "plot_all", "plot_budget", "plot_curves",
           "plot_distribution", "plot_pr_budget", "plot_precision_recall", "plot_samples",
           "plot_toys",
           "toy_grid"]

PLOTS = ("distribution", "budget", "curves", "precision_recall", "toys", "samples")


def plot_all(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path | None, fid: str = "final",
             boot: int = 1000, seed: int = 0, individual: bool | None = None,
             which: tuple[str, ...] = PLOTS,
             budget: pd.DataFrame | None = None) -> list[PlotResult]:
    """Every requested plot (written into out_dir unless it is None); skipped ones carry a note.
    `budget`: precomputed analysis.budget.budget_curves, so a report draws the numbers it
    writes to budget.csv."""
    out_dir = Path(out_dir) if out_dir is not None else None
    results: list[PlotResult] = []
    if "distribution" in which:
        results.append(plot_distribution(runs, out_dir, fid))
    if "budget" in which:
        results.extend(plot_budget(runs, out_dir, fid, boot, seed, curves=budget))
    if "curves" in which:
        results.append(plot_curves(runs, curves, out_dir, individual))
    if "precision_recall" in which:
        results.append(plot_precision_recall(runs, out_dir))
        results.extend(plot_pr_budget(runs, out_dir, boot, seed))
    if "toys" in which:
        results.extend(plot_toys(runs, out_dir, fid))
    if "samples" in which:
        results.extend(plot_samples(runs, out_dir, fid))
    return results
