"""Precision and recall (runs with `final_precision` / `final_recall`, e.g. the triangles of
the study's section 5): precision vs recall per run with F1 per objective, and F1, precision and
recall against the budget (analysis.budget.pr_budget_curves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from analysis.budget import pr_budget_curves
from analysis.collect import COMPLETED, DIVERGED
from analysis.plots.common import (
    PlotResult,
    band,
    finish,
    layout,
    legend_below,
    new_figure,
    palette,
    panel_slug,
    panel_title,
)
from analysis.stats import distributions, scored_panels
from analysis.style import gan_label, plural

PR_STYLES = {"f1": "-", "precision": "--", "recall": ":"}


def _pr_runs(runs: pd.DataFrame) -> pd.DataFrame | None:
    if not {"final_precision", "final_recall"} <= set(runs.columns):
        return None
    has = (runs["status"] == COMPLETED) & runs["final_precision"].notna()
    if not has.any():
        return None
    # the datasets that recorded precision, their diverged runs included (F1 = 0)
    ok = runs["dataset"].isin(set(runs.loc[has, "dataset"])) & (has | (runs["status"] == DIVERGED))
    return runs[ok]


def _iso_f1(ax: Axes) -> None:
    rr = np.linspace(0.01, 1, 200)
    for f in (0.2, 0.4, 0.6, 0.8):
        pp = f * rr / (2 * rr - f)
        ok = (pp > 0) & (pp <= 1) & (2 * rr > f)
        ax.plot(rr[ok], pp[ok], ":", color="grey", linewidth=0.8)
        ax.text(0.99, f / (2 - f) + 0.01, f"F1={f}", fontsize=7, color="grey", ha="right",
                va="bottom")


def plot_precision_recall(runs: pd.DataFrame, out_dir: Path | None = None) -> PlotResult:
    """Precision vs recall per run (iso-F1 dotted) and F1 per objective, per panel; diverged
    runs count as F1 = 0 (x marks)."""
    result = PlotResult("precision_recall", "Precision and recall", caption=(
        "Precision vs recall of each run at its last evaluation (dotted: equal F1), and the F1 "
        "score per objective; a diverged run counts as F1 = 0 (x marks). Higher is better."))
    pr = _pr_runs(runs)
    if pr is None:
        result.note = "no run recorded precision and recall"
        return result
    groups = scored_panels(pr)
    cols = palette(runs)
    fig, axes = new_figure(2 * len(groups), 2, 5.2, 4.6)
    rng = np.random.default_rng(0)
    for j, panel in enumerate(groups):
        ax_pr, ax_f1 = axes[2 * j], axes[2 * j + 1]
        _iso_f1(ax_pr)
        _, dists = distributions(panel)
        for i, (gan, g) in enumerate(dists.items()):
            done = g[g["status"] == COMPLETED]
            ax_pr.scatter(done["final_recall"], done["final_precision"], s=24, color=cols[gan],
                          edgecolor="white", linewidth=0.5, gid=f"pr:{gan}")
            p = done["final_precision"].astype(float).to_numpy()
            r = done["final_recall"].astype(float).to_numpy()
            f1 = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0.0)
            ax_f1.scatter(i + rng.uniform(-0.2, 0.2, len(f1)), f1, s=24, color=cols[gan],
                          gid=f"f1:{gan}")
            n_div = int((g["status"] == DIVERGED).sum())
            if n_div:
                ax_f1.scatter(i + rng.uniform(-0.2, 0.2, n_div), np.zeros(n_div), marker="x",
                              color=cols[gan], gid=f"diverged:{gan}")
            if len(f1):
                med = np.median(np.concatenate([f1, np.zeros(n_div)]))
                ax_f1.plot([i - 0.25, i + 0.25], [med, med], color="black", linewidth=1.5)
        ax_pr.set(xlim=(0, 1.02), ylim=(0, 1.02), aspect="equal",
                  xlabel="recall  ↑ better", ylabel="precision  ↑ better")
        ax_pr.set_title(panel_title(panel.dataset, panel.protocol, panel.phase), fontsize=10)
        ax_pr.grid(alpha=0.3)
        labels = [f"{gan_label(g)}\n{plural(len(d), 'run')}" for g, d in dists.items()]
        many = len(dists) > 6
        ax_f1.set_xticks(range(len(dists)), [lab.split("\n")[0] for lab in labels] if many
                         else labels, fontsize=8, rotation=60 if many else 0,
                         ha="right" if many else "center")
        ax_f1.set_ylim(-0.03, 1.02)
        ax_f1.set_ylabel("F1 = 2PR / (P + R)  ↑ better")
        ax_f1.set_title("F1 per objective (bar: median)", fontsize=10)
        ax_f1.grid(axis="y", alpha=0.3)
    handles = [(Line2D([], [], marker="o", linestyle="none", color=cols[g]), gan_label(g))
               for g in dict.fromkeys(pr["gan"]) if g in cols]
    legend_below(fig, handles, ncol=6)
    fig.suptitle("Precision and recall per run (last evaluation)", fontsize=12)
    layout(fig, -(-len(handles) // 6))
    return finish(result, fig, out_dir)


def plot_pr_budget(runs: pd.DataFrame, out_dir: Path | None = None, boot: int = 1000,
                   seed: int = 0) -> list[PlotResult]:
    """F1, precision and recall against the budget, one figure per search panel, one axis per
    objective (the study's section 5)."""
    caption = ("The best F1 over a budget of k settings picked at random (exact expectation "
               "over all k-subsets, solid, with its 95% bootstrap band) and the precision "
               "(dashed) and recall (dotted) of that same run. Diverged runs count as 0.")
    data = pr_budget_curves(runs, boot=boot, seed=seed)
    if data.empty:
        return [PlotResult("pr_budget", "Precision and recall vs budget", caption=caption,
                           note="no search with precision and recall in these runs")]
    cols = palette(runs)
    out = []
    for (d, proto, phase), pc in data.groupby(["dataset", "protocol", "phase"], sort=False):
        title = f"F1, precision and recall vs budget: {panel_title(d, proto, phase)}"
        name = f"pr_budget_{panel_slug(d, proto, phase)}"
        pc = pc[pc["n"] > 1]
        if pc.empty:
            out.append(PlotResult(name, title, caption=caption,
                                  note="one setting per objective: no budget to spend"))
            continue
        gans = list(dict.fromkeys(pc["gan"]))
        fig, axes = new_figure(len(gans), 4, 3.2, 2.7, sharey=True)
        for i, (ax, gan) in enumerate(zip(axes, gans, strict=True)):
            for metric, style in PR_STYLES.items():
                c = pc[(pc["gan"] == gan) & (pc["metric"] == metric)]
                k = c["k"].to_numpy()
                if metric == "f1":
                    band(ax, k, c["lo"].to_numpy(float), c["hi"].to_numpy(float), cols[gan],
                         gid=f"band:{gan}")
                ax.plot(k, c["value"], style, color=cols[gan], linewidth=2 if metric == "f1"
                        else 1.4, gid=f"{metric}:{gan}")
            ax.set_title(gan_label(gan), color=cols[gan], fontsize=10, fontweight="bold")
            ax.set_ylim(0, 1.02)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("budget k: settings tried", fontsize=8)
            if i % 4 == 0:
                ax.set_ylabel("↑ better", fontsize=8)
            ax.grid(alpha=0.3)
        handles = [(Line2D([], [], color="#333333", linestyle=s, linewidth=2 if m == "f1"
                           else 1.4), "best F1" if m == "f1" else f"its {m}")
                   for m, s in PR_STYLES.items()] + [(Patch(color="#333333", alpha=0.18),
                                                       "95% bootstrap band (F1)")]
        legend_below(fig, handles, ncol=4)
        fig.suptitle(title, fontsize=11)
        layout(fig, 1)
        out.append(finish(PlotResult(name, title, caption=caption), fig, out_dir))
    return out
