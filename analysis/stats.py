"""The study's statistics over a runs table: per-run scores, best FID per objective x dataset,
minimum FID vs computational budget, and pairwise tests between objectives.

Conventions (as in Lucic et al. 2018): a diverged run scores +inf; failed, running, unfinished
and corrupt runs are left out. FID numbers are only compared within one *panel*: one dataset
evaluated with one protocol (extractor and its weights, n_gen, n_real, reference split).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from analysis.collect import COMPLETED, DIVERGED, RUN_COLUMNS, defines_setting
from analysis.style import gan_label, order_datasets, order_gans

FID_COLUMNS = {"final": "final_fid", "best": "best_fid"}
FID_DESCRIPTIONS = {"final": "final FID (last evaluation of each run)",
                    "best": "best FID during training (lowest evaluation of each run)"}
UNKNOWN_PROTOCOL = "unknown protocol"


def scores(runs: pd.DataFrame, fid: str = "final") -> pd.Series:
    """Per-run FID for the statistics: a completed run's FID (+inf when non-finite: a broken
    model), +inf for a diverged run, NaN (left out) for every other status."""
    values = pd.to_numeric(runs[FID_COLUMNS[fid]], errors="coerce").astype("float64")
    out = pd.Series(np.nan, index=runs.index, dtype="float64")
    done = (runs["status"] == COMPLETED).to_numpy()
    v = values.to_numpy()
    out[done] = np.where(np.isfinite(v[done]), v[done], np.inf)
    out[(runs["status"] == DIVERGED).to_numpy()] = np.inf
    return out


def add_panels(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of runs with `panel_protocol` (the protocol label, made unique per dataset when two
    extractors' weights share a label) and `panel` ("dataset | protocol")."""
    runs = runs.copy()
    label = runs["protocol"].astype(object).where(runs["protocol"].notna(), UNKNOWN_PROTOCOL)
    ext_id = runs["extractor_id"].astype(object).where(runs["extractor_id"].notna(), "")
    n_ids = pd.DataFrame({"d": runs["dataset"], "l": label, "i": ext_id}).groupby(
        ["d", "l"], dropna=False)["i"].transform("nunique")
    label = [f"{lab} [{str(i)[:6]}]" if n > 1 else lab
             for lab, i, n in zip(label, ext_id, n_ids, strict=True)]
    runs["panel_protocol"] = label
    runs["panel"] = [f"{d} | {lab}" for d, lab in zip(runs["dataset"], label, strict=True)]
    return runs


def panels(runs: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """[(dataset, protocol label, its runs)] in the study's dataset order, for scored runs."""
    if "panel" not in runs:
        runs = add_panels(runs)
    out = []
    for dataset in order_datasets(runs["dataset"].dropna().unique()):
        sub = runs[runs["dataset"] == dataset]
        for proto in sorted(sub["panel_protocol"].unique()):
            out.append((dataset, proto, sub[sub["panel_protocol"] == proto]))
    return out


def setting_columns(runs: pd.DataFrame) -> list[str]:
    """The flattened config columns that define a hyperparameter setting."""
    fixed = set(RUN_COLUMNS) - {"sample"}
    return [c for c in runs.columns
            if c not in fixed and not c.startswith(("hp.", "config.", "final_", "panel"))
            and defines_setting(c)]


def _fmt_setting_value(v: Any) -> str:
    if isinstance(v, float) and not isinstance(v, bool):
        return f"{v:.3g}"
    return str(v)


def describe_setting(group: pd.DataFrame, setting: str) -> str:
    """The config values that vary across the group's runs, as they are in `setting`."""
    # runs whose config was unreadable have NaN everywhere: they make nothing "vary"
    cols = [c for c in setting_columns(group)
            if c != "sample" and group[c].dropna().map(repr).nunique() > 1]
    row = group[group["setting"] == setting].iloc[0]
    parts = [f"sample={row['sample']}"] if "sample" in group and pd.notna(row["sample"]) else []
    parts += [f"{c}={_fmt_setting_value(row[c])}" for c in cols if pd.notna(row[c])]
    return ", ".join(parts) if parts else "(the only setting)"


def best_fid(runs: pd.DataFrame, fid: str = "final") -> pd.DataFrame:
    """Best FID per dataset x protocol x objective, as the study reports it.

    When some setting of an objective was run with several seeds (the study's phase 3), the
    best setting is the one with the lowest median FID over its seeds (a diverged seed = +inf),
    among settings with at least 2 seeds, and the cell is the mean ± std (ddof=1) of its
    finite FIDs (`mode` "seeds"). Otherwise the cell is the minimum FID over the runs
    (`mode` "settings"), +inf when every run diverged.
    """
    runs = add_panels(runs)
    runs["score"] = scores(runs, fid)
    rows = []
    for dataset, proto, panel in panels(runs):
        panel = panel[panel["score"].notna()]
        for gan in order_gans(panel["gan"].dropna().unique()):
            g = panel[panel["gan"] == gan]
            per_setting = g.groupby("setting")["score"]
            counts = per_setting.size()
            row: dict[str, Any] = {
                "dataset": dataset, "protocol": proto, "gan": gan, "n_runs": len(g),
                "n_diverged": int(np.isinf(g["score"]).sum()), "n_settings": len(counts)}
            if counts.max() >= 2:
                multi = counts[counts >= 2].index
                med = per_setting.median()[multi]
                fin_mean = g[np.isfinite(g["score"])].groupby("setting")["score"].mean()
                rank = pd.DataFrame({"med": med, "mean": fin_mean.reindex(multi)}).fillna(np.inf)
                best_setting = rank.sort_values(["med", "mean"], kind="stable").index[0]
                s = g.loc[g["setting"] == best_setting, "score"]
                finite = s[np.isfinite(s)]
                row.update(mode="seeds", fid=finite.mean() if len(finite) else np.inf,
                           std=finite.std(ddof=1) if len(finite) > 1 else np.nan,
                           n_seeds=len(s), n_seeds_diverged=int(np.isinf(s).sum()),
                           best_setting=best_setting,
                           best_run=g.loc[s.index[np.argmin(s.to_numpy())], "run_dir"])
            else:
                i = g["score"].to_numpy().argmin()
                row.update(mode="settings", fid=float(g["score"].iloc[i]), std=np.nan,
                           n_seeds=1, n_seeds_diverged=int(np.isinf(g["score"].iloc[i])),
                           best_setting=g["setting"].iloc[i], best_run=g["run_dir"].iloc[i])
            best_rows = g[g["setting"] == row["best_setting"]]
            row["sample"] = best_rows["sample"].iloc[0] if "sample" in g else None
            row["setting_desc"] = describe_setting(g, row["best_setting"])
            rows.append(row)
    cols = ["dataset", "protocol", "gan", "mode", "fid", "std", "n_runs", "n_diverged",
            "n_settings", "n_seeds", "n_seeds_diverged", "sample", "setting_desc", "best_setting",
            "best_run"]
    return pd.DataFrame(rows, columns=cols)


# --- minimum FID vs computational budget ----------------------------------------------------

def budget_curve(values: np.ndarray, draws: int = 5000, kmax: int | None = None,
                 rng: np.random.Generator | None = None, level: float = 0.95) -> pd.DataFrame:
    """Min FID over k runs drawn with replacement, k = 1..kmax (default: len(values)).

    `draws` bootstrap draws of kmax indices each; the running minimum along a draw gives every
    k at once (the draws for k and k+1 share their first k runs, which leaves each k's
    distribution exact). Columns: k, mean, median, lo, hi (the central `level` interval of the
    min over draws, taken from the draws themselves: +inf where a draw held only diverged runs).
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return pd.DataFrame(columns=["k", "mean", "median", "lo", "hi"])
    kmax = n if kmax is None else kmax
    rng = np.random.default_rng(0) if rng is None else rng
    idx = rng.integers(0, n, size=(draws, kmax))
    mins = np.minimum.accumulate(values[idx], axis=1)
    q = (1 - level) / 2
    with np.errstate(invalid="ignore"):  # inf - inf inside the mean of all-diverged draws
        mean = mins.mean(axis=0)
    lo, med, hi = np.quantile(mins, [q, 0.5, 1 - q], axis=0, method="inverted_cdf")
    return pd.DataFrame({"k": np.arange(1, kmax + 1), "mean": mean, "median": med,
                         "lo": lo, "hi": hi})


def expected_min(values: np.ndarray, k: int) -> float:
    """E[min of k draws with replacement] exactly: with x_(1) <= ... <= x_(n),
    P(min = x_(i)) = ((n-i+1)/n)^k - ((n-i)/n)^k."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    i = np.arange(1, n + 1)
    p = ((n - i + 1) / n) ** k - ((n - i) / n) ** k
    if np.isinf(x[p > 0]).any():
        return math.inf
    return float(np.sum(x * p))


def budget_curves(runs: pd.DataFrame, fid: str = "final", draws: int = 5000,
                  seed: int = 0) -> pd.DataFrame:
    """`budget_curve` for every panel x objective; adds dataset, protocol, gan, n, n_diverged."""
    runs = add_panels(runs)
    runs["score"] = scores(runs, fid)
    rng = np.random.default_rng(seed)
    parts = []
    for dataset, proto, panel in panels(runs):
        panel = panel[panel["score"].notna()]
        for gan in order_gans(panel["gan"].dropna().unique()):
            v = panel.loc[panel["gan"] == gan, "score"].to_numpy()
            curve = budget_curve(v, draws=draws, rng=rng)
            curve.insert(0, "gan", gan)
            curve.insert(0, "protocol", proto)
            curve.insert(0, "dataset", dataset)
            curve["n"] = len(v)
            curve["n_diverged"] = int(np.isinf(v).sum())
            parts.append(curve)
    if not parts:
        return pd.DataFrame(columns=["dataset", "protocol", "gan", "k", "mean", "median", "lo",
                                     "hi", "n", "n_diverged"])
    return pd.concat(parts, ignore_index=True)


# --- pairwise tests ----------------------------------------------------------------------------

def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in the family)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def pairwise_tests(runs: pd.DataFrame, fid: str = "final", alpha: float = 0.05,
                   min_runs: int = 2) -> pd.DataFrame:
    """Two-sided Mann-Whitney U test for every pair of objectives in each panel, on the
    per-run FIDs (diverged = +inf), Holm-corrected over the panel's pairs.

    `p_a_better` is the probability that a random run of A has a lower FID than one of B
    (ties count half): the effect size behind U.
    """
    runs = add_panels(runs)
    runs["score"] = scores(runs, fid)
    rows = []
    for dataset, proto, panel in panels(runs):
        panel = panel[panel["score"].notna()]
        gans = order_gans(panel["gan"].dropna().unique())
        first = len(rows)
        for i, a in enumerate(gans):
            for b in gans[i + 1:]:
                xa = panel.loc[panel["gan"] == a, "score"].to_numpy()
                xb = panel.loc[panel["gan"] == b, "score"].to_numpy()
                row: dict[str, Any] = {
                    "dataset": dataset, "protocol": proto, "a": a, "b": b, "n_a": len(xa),
                    "n_b": len(xb), "median_a": float(np.median(xa)),
                    "median_b": float(np.median(xb)), "u": np.nan, "p_a_better": np.nan,
                    "p": np.nan}
                if min(len(xa), len(xb)) >= min_runs:
                    res = mannwhitneyu(xa, xb, alternative="two-sided")
                    row.update(u=float(res.statistic), p=float(res.pvalue),
                               p_a_better=1.0 - float(res.statistic) / (len(xa) * len(xb)))
                rows.append(row)
        adjusted = holm(np.array([r["p"] for r in rows[first:]], dtype=np.float64))
        for r, ph in zip(rows[first:], adjusted, strict=True):
            r["p_holm"] = ph
            if np.isnan(ph):
                r["verdict"] = f"too few runs (< {min_runs} each)"
            elif ph < alpha:
                better = r["a"] if r["p_a_better"] > 0.5 else r["b"]
                r["verdict"] = f"differ: {gan_label(better)} lower"
            else:
                r["verdict"] = "no significant difference"
    cols = ["dataset", "protocol", "a", "b", "n_a", "n_b", "median_a", "median_b", "p_a_better",
            "u", "p", "p_holm", "verdict"]
    return pd.DataFrame(rows, columns=cols)
