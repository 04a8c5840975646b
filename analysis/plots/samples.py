"""Image datasets: the sample grid gan-train saved for the best and the worst completed run of
each objective, so a low FID can be checked by eye (and a blank or collapsed run seen as one).

The grid shown is the one saved at the evaluation the score comes from: the last one for the
final FID, the best one's for `--fid best`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.image import imread

from analysis.plots.common import (
    FID_WORDS,
    PlotResult,
    agg_figure,
    completed_panels,
    finish,
    palette,
    slug,
)
from analysis.plots.toys import toy_grid
from analysis.stats import scores
from analysis.style import TOY_DATASETS, dataset_label, gan_label, order_gans, plural
from benchmark import rundir

CELL_IN = 2.4  # inches per grid: 8x8 samples stay legible, the figure stays under ~1,500 px wide


def run_grid(row: pd.Series, fid: str = "final") -> Path | None:
    """The PNG grid of the evaluation behind the run's score, or None when it saved none."""
    run_dir = row.get("run_dir")
    if not isinstance(run_dir, str):
        return None
    if fid == "best" and pd.notna(row.get("best_step")):
        path = rundir.sample_path(Path(run_dir), int(row["best_step"]), "png")
        if path.is_file():
            return path
    return rundir.last_sample_grid(run_dir)


def _picks(g: pd.DataFrame, fid: str) -> list[tuple[str, int, tuple, tuple]]:
    picks = []
    for gan in order_gans(g["gan"].dropna().unique()):
        ranked = g[g["gan"] == gan].sort_values("score", kind="stable")
        with_grid = [(row, p) for _, row in ranked.iterrows() if (p := run_grid(row, fid))]
        if with_grid:
            picks.append((gan, len(with_grid), with_grid[0], with_grid[-1]))
    return picks


def _figure(dataset: str, picks: list, cols: dict[str, str]):
    pairs, rows = toy_grid(len(picks))
    fig = agg_figure((2 * CELL_IN * pairs, (CELL_IN + 0.35) * rows + 0.5))
    axes = fig.subplots(rows, 2 * pairs, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, (gan, n_runs, best, worst) in enumerate(picks):
        r, c = divmod(i, pairs)
        for ax, (row, path), which in ((axes[r, 2 * c], best, "best"),
                                       (axes[r, 2 * c + 1], worst, "worst")):
            if which == "worst" and n_runs == 1:
                continue
            ax.imshow(imread(path), cmap="gray", interpolation="nearest")
            step = int(Path(path).stem.split("_")[-1])  # samples/step_<n>.png
            ax.set_title(f"{gan_label(gan)}, {which} of {plural(n_runs, 'run')}\n"
                         f"FID {row['score']:.3g} at step {step:,}", fontsize=8, color=cols[gan])
    fig.suptitle(f"{dataset_label(dataset)}: samples of the best (left) and worst (right) run "
                 "of each objective", fontsize=10, y=1 - 0.12 / fig.get_figheight(), va="top")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    return fig


def plot_samples(runs: pd.DataFrame, out_dir: Path | None = None,
                 fid: str = "final") -> list[PlotResult]:
    """For each image dataset (and phase): the saved sample grid of the best and the worst
    completed run per objective by `fid`."""
    runs = runs.assign(score=scores(runs, fid))
    images = [d for d in runs["dataset"].dropna().unique() if d not in TOY_DATASETS]
    if not images:
        return [PlotResult("samples", title="Samples",
                           note="no image dataset in these runs")]
    cols, out = palette(runs), []
    for dataset, suffix, g in completed_panels(runs, sorted(images)):
        res = PlotResult(f"samples_{slug(dataset)}{suffix}", f"Samples: {dataset}",
                         caption=(f"{dataset}: 64 samples (the first of the fixed FID "
                                  "latents) of the best and the worst completed run of each "
                                  f"objective by {FID_WORDS[fid]}, from the evaluation that "
                                  "score comes from."))
        picks = _picks(g, fid)
        if not picks:
            res.note = f"the {dataset} runs saved no sample grids (samples/step_*.png)"
            out.append(res)
            continue
        out.append(finish(res, _figure(dataset, picks, cols), out_dir))
    return out
