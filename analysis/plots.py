"""`gan-analyze plot`: the study's figures from a runs table (matplotlib, Agg; PNG and PDF).

Every figure has one panel per dataset and FID protocol (numbers from different protocols are
not comparable), labelled axes, a legend, and the same colour per objective everywhere
(`analysis.style.PALETTE`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window (and no display on a cluster node)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.collect import COMPLETED  # noqa: E402
from analysis.stats import add_panels, budget_curves, panels, scores  # noqa: E402
from analysis.style import TOY_DATASETS, colour, dataset_label, gan_label, order_gans  # noqa: E402

FORMATS = ("png", "pdf")
PLOTS = ("distribution", "budget", "curves", "precision_recall", "toys")
MAX_BANDS = 4  # more overlapping bands in one panel read as a grey smear
FID_WORDS = {"final": "final FID", "best": "best FID during training"}


@dataclass
class PlotResult:
    """What one plot wrote (files) or why it did not (note); `caption` explains it."""

    name: str
    title: str = ""
    files: list[Path] = field(default_factory=list)
    note: str = ""
    caption: str = ""


def _grid(n: int, n_gans: int = 3, height: float = 4.2) -> tuple[Figure, list[Axes]]:
    """n panels; each wide enough for n_gans objectives side by side (names, legends)."""
    width = max(5.4, 0.8 * n_gans + 1.4)
    ncols = max(1, min(n, 3 if width < 7 else 2))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.6),
                             squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _save(fig: Figure, out_dir: Path, name: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in formats:
        path = out_dir / f"{name}.{ext}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _log_scale(values: np.ndarray) -> bool:
    """Log y when the finite positive values span more than 30x (FID from 1000s down to 10s)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() > 30


def _set_log_y(ax: Axes) -> None:
    """Log y with plain tick labels (0.5, 1, 2, 3, 5, 10, ...) instead of 10^x."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _band(ax: Axes, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, col: str,
          edges: bool = True) -> None:
    # A light fill plus thin edges in the objective's colour: overlapping bands stay readable.
    ax.fill_between(x, lo, hi, color=col, alpha=0.10, linewidth=0)
    if edges:
        ax.plot(x, lo, color=col, linewidth=0.7, alpha=0.6)
        ax.plot(x, hi, color=col, linewidth=0.7, alpha=0.6)


def _panel_title(dataset: str, protocol: str) -> str:
    return f"{dataset_label(dataset)}  ·  {protocol}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _strip(ax: Axes, i: int, values: np.ndarray, col: str, rng: np.random.Generator) -> None:
    """Points (jittered) at x=i, with a box from 5 points on, else a median bar."""
    if not len(values):
        return
    if len(values) >= 5:  # the box on top of the points, outlined: visible over 400 runs
        ax.boxplot([values], positions=[i], widths=0.6, showfliers=False, zorder=4,
                   medianprops={"color": "black", "linewidth": 2},
                   boxprops={"color": "black", "linewidth": 1.1},
                   whiskerprops={"color": "black", "linewidth": 1.1},
                   capprops={"color": "black", "linewidth": 1.1})
    else:  # a box of 2-4 points says less than the points: median bar only
        ax.plot([i - 0.25, i + 0.25], [np.median(values)] * 2, color="black", linewidth=1.5,
                zorder=4)
    many = len(values) > 60
    x = i + rng.uniform(-0.2, 0.2, len(values))
    ax.scatter(x, values, s=8 if many else 28, alpha=0.5 if many else 1.0, color=col,
               edgecolor="none" if many else "white", linewidth=0.5, zorder=3)


# --- FID distribution per objective -------------------------------------------------------------

def plot_distribution(runs: pd.DataFrame, out_dir: Path, fid: str = "final") -> PlotResult:
    """Box + strip of per-run FID per objective, one panel per dataset; diverged runs counted
    under the objective's name (they have no finite FID to draw)."""
    result = PlotResult("fid_distribution", "FID per objective", caption=(
        f"FID of every run ({FID_WORDS[fid]}) per objective: points are runs, black bars "
        "medians, boxes quartiles and whiskers 1.5 IQR (from 5 runs on); diverged runs have no "
        "FID to draw and are counted under each name."))
    runs = add_panels(runs)
    runs["score"] = scores(runs, fid)
    groups = [(d, p, g[g["score"].notna()]) for d, p, g in panels(runs)]
    groups = [x for x in groups if len(x[2])]
    if not groups:
        result.note = "no completed or diverged runs"
        return result
    fig, axes = _grid(len(groups), max(g["gan"].nunique() for _, _, g in groups))
    rng = np.random.default_rng(0)
    for ax, (dataset, proto, g) in zip(axes, groups, strict=True):
        gans = order_gans(g["gan"].dropna().unique())
        labels, all_values = [], []
        for i, gan in enumerate(gans):
            s = g.loc[g["gan"] == gan, "score"].to_numpy()
            finite = s[np.isfinite(s)]
            n_div = int(np.isinf(s).sum())
            all_values.extend(finite)
            c = colour(gan)
            _strip(ax, i, finite, c, rng)
            label = f"{gan_label(gan)}\n{len(s)} run{'s' if len(s) != 1 else ''}"
            if n_div:
                label += f"\n{n_div} diverged"
            if not len(finite):
                ax.text(i, 0.5, "all\ndiverged", transform=ax.get_xaxis_transform(),
                        ha="center", va="center", color=c, fontsize=9)
            labels.append(label)
        ax.set_xticks(range(len(gans)), labels, fontsize=9)
        for tick, gan in zip(ax.get_xticklabels(), gans, strict=True):
            tick.set_color(colour(gan))
        ax.set_xlim(-0.6, len(gans) - 0.4)
        log = _log_scale(np.array(all_values))
        if log:
            _set_log_y(ax)
        ax.set_ylabel(f"{FID_WORDS[fid]}{' (log scale)' if log else ''}  ↓ better")
        ax.set_title(_panel_title(dataset, proto), fontsize=11)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"FID per objective: one point per run ({FID_WORDS[fid]})", fontsize=13)
    fig.tight_layout()
    result.files = _save(fig, out_dir, result.name)
    return result


# --- minimum FID vs budget ------------------------------------------------------------------------

def plot_budget(runs: pd.DataFrame, out_dir: Path, fid: str = "final", draws: int = 5000,
                seed: int = 0, curves: pd.DataFrame | None = None) -> PlotResult:
    """The study's central figure: the minimum FID reached by k runs drawn at random (with
    replacement), for k = 1..N, mean over `draws` bootstrap draws with a 95% band."""
    result = PlotResult("budget", "Minimum FID vs computational budget", caption=(
        f"Minimum FID ({FID_WORDS[fid]}) reached by a budget of k runs picked at random "
        f"(with replacement, {draws:,} bootstrap draws): the line is the mean over draws (the "
        "median in panels with diverged runs, whose +∞ makes the mean infinite), the band "
        "holds 95% of the draws. Lower and further left is better."))
    data = budget_curves(runs, fid, draws, seed) if curves is None else curves
    if data.empty:
        result.note = "no completed or diverged runs"
        return result
    keys = list(dict.fromkeys(zip(data["dataset"], data["protocol"], strict=True)))
    fig, axes = _grid(len(keys), int(data.groupby(["dataset", "protocol"])["gan"].nunique().max()))
    any_median = any_hidden_band = False
    stats_used: set[str] = set()
    for ax, (dataset, proto) in zip(axes, keys, strict=True):
        d = data[(data["dataset"] == dataset) & (data["protocol"] == proto)]
        gans = order_gans(d["gan"].unique())
        bands = len(gans) <= MAX_BANDS
        any_hidden_band |= not bands
        # Counted as +inf, a diverged run makes the mean of the minimum infinite for every k
        # (some draw may hold only diverged runs): such panels show the median for all their
        # objectives, so that the lines within a panel stay comparable.
        stat = "mean" if (d["n_diverged"] == 0).all() else "median"
        any_median |= stat == "median"
        stats_used.add(stat)
        # y range from the curves (and the bands' lower edges): a band's upper edge at k=1 is
        # the worst runs, which would squash the curves into the bottom of the panel
        shown = np.concatenate([d[stat]] + ([d["lo"]] if bands else []))
        shown = shown.astype(np.float64)
        shown = shown[np.isfinite(shown)]
        log = _log_scale(shown)
        top = shown.max() * (1.4 if log else 1.08) if len(shown) else 1.0
        for gan in gans:
            c = d[d["gan"] == gan]
            k = c["k"].to_numpy()
            col = colour(gan)
            n, n_div = int(c["n"].iloc[0]), int(c["n_diverged"].iloc[0])
            div = "all diverged" if n_div == n else f"{n_div} diverged"
            label = f"{gan_label(gan)} (N={n}{f', {div}' if n_div else ''})"
            if bands:
                lo = c["lo"].to_numpy(dtype=np.float64)
                hi = np.minimum(c["hi"].to_numpy(dtype=np.float64), top)  # +inf: the top edge
                ok = np.isfinite(lo)
                _band(ax, k[ok], lo[ok], hi[ok], col)
            line = c[stat].to_numpy(dtype=np.float64)
            fin = np.isfinite(line)
            ax.plot(k[fin], line[fin], "-", marker="o" if len(k) <= 12 else None, markersize=4,
                    color=col, linewidth=2, label=label)
        if log:
            _set_log_y(ax)
        ax.set_ylim(top=top)
        if d["k"].max() > 20:  # the curve drops within the first few k: spread them out
            from matplotlib.ticker import FuncFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("budget k: runs tried (settings x seeds; log scale)")
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_xlabel("budget k: runs tried (hyperparameter settings x seeds)")
        ax.set_ylabel(f"min {FID_WORDS[fid]} over k runs: {stat}{' (log)' if log else ''}  ↓ better")
        ax.set_title(_panel_title(dataset, proto), fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    notes = []
    if any_median:
        notes.append(("median" if stats_used == {"median"} else "median in panels with diverged "
                      "runs") + ": counted as +∞, diverged runs make the mean infinite")
    if any_hidden_band:
        notes.append(f"95% bands drawn for at most {MAX_BANDS} objectives per panel "
                     "(--gans to pick; all in budget.csv)")
    what = "mean" if stats_used == {"mean"} else "median" if stats_used == {"median"} else \
        "mean or median"
    fig.suptitle(f"Minimum FID vs computational budget: {what} of {draws:,} bootstrap draws" + (", 95% band" if not any_hidden_band else "")
                 + ("\n" + "; ".join(notes) if notes else ""), fontsize=12)
    fig.tight_layout()
    result.files = _save(fig, out_dir, result.name)
    return result


# --- FID over training --------------------------------------------------------------------------

def _training_x(runs: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per-run factor from steps to the x axis: epochs when every run was scheduled in epochs
    (objectives with n_disc=5 make fewer generator steps per epoch), else generator steps."""
    if "train.epochs" in runs and "steps_planned" in runs:
        epochs = pd.to_numeric(runs["train.epochs"], errors="coerce")
        planned = pd.to_numeric(runs["steps_planned"], errors="coerce").astype("float64")
        if epochs.notna().all() and planned.notna().all() and (planned > 0).all():
            return epochs / planned, "epochs (passes over the train split)"
    return pd.Series(1.0, index=runs.index), "generator steps"


AUTO_INDIVIDUAL_MAX = 5


def plot_curves(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path,
                individual: bool | None = None, metric: str = "fid") -> PlotResult:
    """FID over training: median and interquartile band across the runs of each objective
    (completed and diverged runs). `individual` adds every run as a thin line; None (default)
    does so when no objective has more than AUTO_INDIVIDUAL_MAX runs in a panel, where a
    median and quartiles of a handful of runs hide more than they show."""
    runs = add_panels(runs)
    runs = runs[runs["status"].isin([COMPLETED, "diverged"])]
    if individual is None:
        individual = bool(len(runs)) and runs.groupby(["panel", "gan"]).size().max() <= AUTO_INDIVIDUAL_MAX
    result = PlotResult("fid_over_training", "FID over training", caption=(
        "FID over training: median over the runs of each objective (thick line) and "
        "interquartile band" + (", every run as a thin line" if individual else "") + "."))
    c = curves[(curves["metric"] == metric) & curves["run_id"].isin(runs["run_id"])]
    c = c[np.isfinite(c["value"].to_numpy())]
    if c.empty:
        result.note = f"no `{metric}` evaluations in metrics.jsonl"
        return result
    groups = [(d, p, g) for d, p, g in panels(runs) if g["run_id"].isin(c["run_id"]).any()]
    fig, axes = _grid(len(groups), max(g["gan"].nunique() for _, _, g in groups))
    any_hidden_band = False
    for ax, (dataset, proto, g) in zip(axes, groups, strict=True):
        factor, xlabel = _training_x(g)
        scale = dict(zip(g["run_id"], factor, strict=True))
        cg = c[c["run_id"].isin(g["run_id"])]
        all_y = cg["value"].to_numpy()
        gans = order_gans(g["gan"].dropna().unique())
        bands = len(gans) <= MAX_BANDS
        any_hidden_band |= not bands
        for gan in gans:
            ids = g.loc[g["gan"] == gan, "run_id"]
            sub = cg[cg["run_id"].isin(ids)]
            if sub.empty:
                continue
            per_run = [(r["step"].to_numpy() * scale[rid], r["value"].to_numpy())
                       for rid, r in sub.sort_values("step").groupby("run_id")]
            grid = np.unique(np.concatenate([x for x, _ in per_run]))
            if len(grid) > 200:
                grid = np.linspace(grid.min(), grid.max(), 200)
            # each run on the common x grid, NaN outside its own range (a diverged run stops)
            mat = np.vstack([np.interp(grid, x, y, left=np.nan, right=np.nan) for x, y in per_run])
            col = colour(gan)
            if individual:
                for x, y in per_run:
                    ax.plot(x, y, color=col, alpha=0.45, linewidth=0.8)
            with warnings.catch_warnings():  # "All-NaN slice": grid points no run reaches
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(mat, axis=0)
                q1, q3 = np.nanpercentile(mat, [25, 75], axis=0)
            if bands:
                _band(ax, grid, q1, q3, col, edges=not individual)  # thin lines are runs then
            ax.plot(grid, med, "-", marker="o" if len(grid) <= 12 else None, markersize=3,
                    color=col, linewidth=2, label=f"{gan_label(gan)} ({len(per_run)} runs)")
        if _log_scale(all_y):
            _set_log_y(ax)
            ax.set_ylabel(f"{metric.upper() if metric == 'fid' else metric} (log scale)  ↓ better")
        else:
            ax.set_ylabel(f"{metric.upper() if metric == 'fid' else metric}  ↓ better")
        ax.set_xlabel(xlabel)
        ax.set_title(_panel_title(dataset, proto), fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("FID over training: median across runs (thick)"
                 + (", interquartile band" if not any_hidden_band else "")
                 + (", single runs (thin)" if individual else "")
                 + (f"\ninterquartile bands drawn for at most {MAX_BANDS} objectives per panel "
                    "(--gans to pick)" if any_hidden_band else ""), fontsize=12)
    fig.tight_layout()
    result.files = _save(fig, out_dir, result.name)
    return result


# --- precision and recall ---------------------------------------------------------------------

def plot_precision_recall(runs: pd.DataFrame, out_dir: Path) -> PlotResult:
    """Precision vs recall per run (iso-F1 curves dotted) and F1 per objective, per dataset;
    only when the runs evaluated `eval.metrics=[...,pr]`."""
    result = PlotResult("precision_recall", "Precision and recall", caption=(
        "Precision vs recall of every completed run at its last evaluation (dotted: equal F1), "
        "and the F1 score per objective. Higher is better for all three."))
    if not {"final_precision", "final_recall"} <= set(runs.columns):
        result.note = "no run recorded precision and recall (eval.metrics without pr)"
        return result
    runs = add_panels(runs)
    runs = runs[(runs["status"] == COMPLETED) & runs["final_precision"].notna()
                & runs["final_recall"].notna()]
    if runs.empty:
        result.note = "no completed run recorded precision and recall"
        return result
    groups = panels(runs)
    fig, axes_grid = plt.subplots(len(groups), 2, figsize=(11, 4.6 * len(groups) + 0.6),
                                  squeeze=False)
    rng = np.random.default_rng(0)
    for (ax_pr, ax_f1), (dataset, proto, g) in zip(axes_grid, groups, strict=True):
        p = g["final_precision"].astype(float).to_numpy()
        r = g["final_recall"].astype(float).to_numpy()
        g = g.assign(f1=np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0))
        rr = np.linspace(0.01, 1, 200)
        for f in (0.2, 0.4, 0.6, 0.8):
            pp = f * rr / (2 * rr - f)
            ok = (pp > 0) & (pp <= 1) & (2 * rr > f)
            ax_pr.plot(rr[ok], pp[ok], ":", color="grey", linewidth=0.8)
            ax_pr.text(0.99, f / (2 - f) + 0.01, f"F1={f}", fontsize=7, color="grey", ha="right",
                       va="bottom", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
        gans = order_gans(g["gan"].unique())
        for i, gan in enumerate(gans):
            s = g[g["gan"] == gan]
            ax_pr.scatter(s["final_recall"], s["final_precision"], s=24, color=colour(gan),
                          edgecolor="white", linewidth=0.5, label=f"{gan_label(gan)} ({len(s)})")
            _strip(ax_f1, i, s["f1"].to_numpy(), colour(gan), rng)
        ax_pr.set_xlim(0, 1.02)
        ax_pr.set_ylim(0, 1.02)
        ax_pr.set_aspect("equal")
        ax_pr.set_xlabel("recall (fraction of real samples covered)  ↑ better")
        ax_pr.set_ylabel("precision (fraction of samples that look real)  ↑ better")
        ax_pr.set_title(_panel_title(dataset, proto), fontsize=11)
        ax_pr.legend(fontsize=8, loc="lower left")
        ax_pr.grid(alpha=0.3)
        ax_f1.set_xticks(range(len(gans)), [gan_label(x) for x in gans], fontsize=9)
        ax_f1.set_ylim(0, 1.02)
        ax_f1.set_ylabel("F1 = 2PR / (P + R)  ↑ better")
        ax_f1.set_title(f"F1 per objective  ·  {dataset_label(dataset)}", fontsize=11)
        ax_f1.grid(axis="y", alpha=0.3)
    fig.suptitle("Precision and recall per run (last evaluation)", fontsize=13)
    fig.tight_layout()
    result.files = _save(fig, out_dir, result.name)
    return result


# --- 2-D toys: samples of the best and the worst run ----------------------------------------

def _points(run_dir: str) -> np.ndarray | None:
    """The last samples/step_*.npz of a run as (n, 2) points, or None."""
    files = sorted(Path(run_dir, "samples").glob("step_*.npz"))
    for path in reversed(files):
        try:
            with np.load(path, allow_pickle=False) as z:
                names = [k for k in ("points", "samples", "x") if k in z.files] + list(z.files)
                for k in names:
                    a = np.asarray(z[k], dtype=np.float64)
                    if a.ndim == 2 and a.shape[1] == 2:
                        return a
        except (OSError, ValueError):
            continue
    return None


def _modes(row: pd.Series) -> np.ndarray | None:
    # The mixture centres from the dataset config (ring8: radius; grid25: spacing).
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


def plot_toys(runs: pd.DataFrame, out_dir: Path, fid: str = "final") -> list[PlotResult]:
    """For each 2-D toy dataset: samples of the best and the worst completed run per objective."""
    runs = runs.assign(score=scores(runs, fid))
    toys = [d for d in TOY_DATASETS if (runs["dataset"] == d).any()]
    if not toys:
        return [PlotResult("toys", title="2-D samples", note="no 2-D toy dataset (ring8, grid25) in these runs")]
    out = []
    for dataset in toys:
        g = runs[(runs["dataset"] == dataset) & (runs["status"] == COMPLETED)
                 & np.isfinite(runs["score"])]
        res = PlotResult(f"toys_{_slug(dataset)}", f"2-D samples: {dataset}", caption=(
            f"{dataset}: generated points of the best and the worst completed run of each "
            f"objective (by {FID_WORDS[fid]}, among the runs that saved samples/step_*.npz), "
            "last saved evaluation; + marks the true modes."))
        picks = []
        for gan in order_gans(g["gan"].unique()):
            s = g[g["gan"] == gan].sort_values("score")
            with_points = [(row, p) for _, row in s.iterrows()
                           if (p := _points(row["run_dir"])) is not None]
            if with_points:
                picks.append((gan, len(with_points), with_points[0], with_points[-1]))
        if not picks:
            res.note = (f"the {dataset} runs saved no point samples "
                        "(samples/step_*.npz); gan-train writes PNG grids for images only")
            out.append(res)
            continue
        modes = None
        for _, row in runs[runs["dataset"] == dataset].iterrows():
            if (modes := _modes(row)) is not None:
                break
        lim = np.abs(modes).max() * 1.6 if modes is not None else None
        pairs, rows = toy_grid(len(picks))
        fig, axes = plt.subplots(rows, 2 * pairs, figsize=(7.4 * pairs, 3.5 * rows + 0.5),
                                 squeeze=False)
        for ax in axes.flat[2 * len(picks):]:
            ax.set_axis_off()  # the last row's unused pairs
        for i, (gan, n_runs, best, worst) in enumerate(picks):
            r, c = divmod(i, pairs)
            ax_b, ax_w = axes[r, 2 * c], axes[r, 2 * c + 1]
            for ax, (row, p), which in ((ax_b, best, "best"), (ax_w, worst, "worst")):
                if which == "worst" and worst[0]["run_dir"] == best[0]["run_dir"]:
                    ax.set_axis_off()
                    ax.text(0.5, 0.5, "only one run\nsaved samples", ha="center", va="center",
                            transform=ax.transAxes, color="grey")
                    continue
                ax.scatter(p[:2000, 0], p[:2000, 1], s=3, alpha=0.4, color=colour(gan),
                           linewidth=0)
                if modes is not None:
                    ax.scatter(modes[:, 0], modes[:, 1], marker="+", s=60, color="black",
                               linewidth=1)
                    ax.set_xlim(-lim, lim)
                    ax.set_ylim(-lim, lim)
                ax.set_aspect("equal")
                ax.set_title(f"{gan_label(gan)}, {which} of {n_runs}: FID {row['score']:.3g}",
                             fontsize=10, color=colour(gan))
                ax.set_xlabel("x₁")
                ax.set_ylabel("x₂")
                ax.tick_params(labelsize=7)
        fig.suptitle(f"{dataset}: samples of the best (left) and worst (right) run of each "
                     "objective",
                     fontsize=11, y=1 - 0.15 / fig.get_figheight(), va="top")
        # keep ~0.5 inch for the title: tight_layout alone lets it overlap the top panels of
        # tall grids (many objectives)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
        res.files = _save(fig, out_dir, res.name)
        out.append(res)
    return out


def plot_all(runs: pd.DataFrame, curves: pd.DataFrame, out_dir: Path, fid: str = "final",
             draws: int = 5000, seed: int = 0, individual: bool | None = None,
             which: tuple[str, ...] = PLOTS, budget: pd.DataFrame | None = None) -> list[PlotResult]:
    """Every requested plot into out_dir; skipped ones carry a note."""
    out_dir = Path(out_dir)
    results: list[PlotResult] = []
    if "distribution" in which:
        results.append(plot_distribution(runs, out_dir, fid))
    if "budget" in which:
        results.append(plot_budget(runs, out_dir, fid, draws, seed, curves=budget))
    if "curves" in which:
        results.append(plot_curves(runs, curves, out_dir, individual))
    if "precision_recall" in which:
        results.append(plot_precision_recall(runs, out_dir))
    if "toys" in which:
        results.extend(plot_toys(runs, out_dir, fid))
    return results
