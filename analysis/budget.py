"""Minimum FID vs computational budget (Lucic et al. 2018, section 5), computed exactly.

A budget of k means trying k distinct hyperparameter settings drawn at random, without
replacement, from the n observed. With the scores sorted, x_(1) <= ... <= x_(n), the best of
the k is x_(i) with probability

    w_k(i) = C(n - i, k - 1) / C(n, k)        (i = 1 .. n - k + 1)

so E[min] = sum_i w_k(i) x_(i): the mean at k = 1, the best run at k = n. A diverged run
scores +inf: with d diverged runs some k-subset holds only diverged runs exactly when k <= d,
so the expectation is finite for k > d only. There the curve shows what stays defined: the
median of the minimum (finite while P(some finite run) >= 1/2), and `p_finite`, the chance
that at least one of the k runs did not diverge, 1 - C(d, k) / C(n, k).

Bands: a bootstrap over the runs. Resample the runs that did not diverge with replacement B
times (the d diverged runs kept as they are: how often a setting diverges is `p_finite`'s
business), recompute the same exact statistic on each resample, and take the central `level`
interval: how much the curve could move had the search drawn other settings.

Precision, recall and F1 (higher is better) follow the same weights on the runs sorted by
decreasing F1: the expected F1 of the best of k settings, and the expected precision and
recall of that same run (the one a practitioner would keep).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.stats import SEARCH, distributions, scored_panels

BUDGET_COLUMNS = ["dataset", "protocol", "phase", "gan", "k", "mean", "median", "p_finite",
                  "stat", "value", "lo", "hi", "n", "n_diverged"]
PR_METRICS = ("f1", "precision", "recall")
DEFAULT_BOOT = 1000


@lru_cache(maxsize=64)
def budget_weights(n: int) -> np.ndarray:
    """(n, n) array: row k-1 holds w_k(i), the probability that the best of k distinct runs of
    n is the i-th best. Each row sums to 1; row 0 is uniform, row n-1 is (1, 0, ..., 0)."""
    w = np.zeros((n, n))
    for k in range(1, n + 1):
        # w_k(1) = k / n; w_k(i+1) / w_k(i) = (n - i - k + 1) / (n - i)
        i = np.arange(1, n)
        ratio = np.clip(n - i - k + 1, 0, None) / (n - i)
        w[k - 1] = (k / n) * np.concatenate([[1.0], np.cumprod(ratio)])
    w.setflags(write=False)
    return w


def _median_positions(n: int) -> np.ndarray:
    # the exact median of the minimum over k draws is x_(m_k), m_k the first position where
    # the cumulative probability reaches 1/2: the same for every set of n values
    cdf = np.cumsum(budget_weights(n), axis=1)
    return np.argmax(cdf >= 0.5 - 1e-12, axis=1)


def p_finite(n: int, d: int) -> np.ndarray:
    """P(at least one of k distinct runs of n is finite), k = 1..n, with d runs diverged."""
    k = np.arange(1, n + 1)
    all_div = np.array([np.prod((d - np.arange(kk)) / (n - np.arange(kk))) if kk <= d else 0.0
                        for kk in k])
    return 1.0 - all_div


def expected_min(values: np.ndarray, k: int) -> float:
    """E[min of k runs drawn without replacement from `values`] exactly (+inf where a k-subset
    of only diverged runs exists)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    return float(_exact_means(x[None, :], budget_weights(n))[0, k - 1])


def _exact_means(sorted_rows: np.ndarray, w: np.ndarray) -> np.ndarray:
    # (B, n) sorted rows -> (B, n) E[min] for k = 1..n; +inf where k <= the row's d. With the
    # infs at the end of each row the weights on them are 0 for k > d, so 0 stands in for inf.
    d = np.isinf(sorted_rows).sum(axis=1)
    means = np.where(np.isinf(sorted_rows), 0.0, sorted_rows) @ w.T
    k = np.arange(1, w.shape[0] + 1)
    return np.where(k[None, :] <= d[:, None], np.inf, means)


def budget_curve(values: np.ndarray, boot: int = DEFAULT_BOOT, level: float = 0.95,
                 rng: np.random.Generator | None = None) -> pd.DataFrame:
    """The exact budget curve of one objective, k = 1..n, with a bootstrap band.

    Columns: k; mean (E[min], +inf for k <= d); median (of the min); p_finite; stat ("mean"
    where the mean is finite, else "median") and value (that statistic); lo, hi (the central
    `level` interval of the same statistic over `boot` resamples of the finite runs, the
    diverged ones kept).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return pd.DataFrame(columns=["k", "mean", "median", "p_finite", "stat", "value", "lo",
                                     "hi"])
    w = budget_weights(n)
    mean = _exact_means(x[None, :], w)[0]
    m = _median_positions(n)
    median = x[m]
    use_mean = np.isfinite(mean)
    value = np.where(use_mean, mean, median)
    lo, hi = value.copy(), value.copy()
    fin = x[np.isfinite(x)]
    if boot and len(fin) > 1:
        rng = np.random.default_rng(0) if rng is None else rng
        # resample the finite runs, the diverged ones kept: their count (shown as p_finite)
        # would otherwise make a resample's mean infinite and the band spike to the top
        res = np.sort(fin[rng.integers(0, len(fin), size=(boot, len(fin)))], axis=1)
        res = np.concatenate([res, np.full((boot, n - len(fin)), np.inf)], axis=1)
        stat = np.where(use_mean[None, :], _exact_means(res, w), res[:, m])
        q = (1 - level) / 2
        # "lower"/"higher": no interpolation, which would turn inf - inf into NaN
        lo = np.quantile(stat, q, axis=0, method="lower")
        hi = np.quantile(stat, 1 - q, axis=0, method="higher")
    return pd.DataFrame({"k": np.arange(1, n + 1), "mean": mean, "median": median,
                         "p_finite": p_finite(n, int(np.isinf(x).sum())),
                         "stat": np.where(use_mean, "mean", "median"), "value": value,
                         "lo": lo, "hi": hi})


def budget_curves(runs: pd.DataFrame, fid: str = "final", boot: int = DEFAULT_BOOT,
                  seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """`budget_curve` for every objective of every search panel (one run per setting); seeds
    panels have no budget to spend and give no rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for panel in scored_panels(runs, fid):
        kind, dists = distributions(panel)
        if kind != SEARCH:
            continue
        for gan, g in dists.items():
            v = g["score"].to_numpy()
            curve = budget_curve(v, boot=boot, level=level, rng=rng)
            for col, val in (("gan", gan), ("phase", panel.phase),
                             ("protocol", panel.protocol), ("dataset", panel.dataset)):
                curve.insert(0, col, val)
            curve["n"] = len(v)
            curve["n_diverged"] = int(np.isinf(v).sum())
            parts.append(curve)
    if not parts:
        return pd.DataFrame(columns=BUDGET_COLUMNS)
    return pd.concat(parts, ignore_index=True)[BUDGET_COLUMNS]


def expected_at_best(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """E[values of the run with the highest `key` among k distinct runs], k = 1..n (ties in
    `key` broken by position)."""
    order = np.argsort(-np.asarray(key, dtype=np.float64), kind="stable")
    v = np.asarray(values, dtype=np.float64)[order]
    return budget_weights(len(v)) @ v


def _pr_values(g: pd.DataFrame) -> dict[str, np.ndarray]:
    # A diverged run counts as precision = recall = F1 = 0: the worst, as +inf is for FID.
    div = (g["status"] != "completed").to_numpy()
    p = pd.to_numeric(g["final_precision"], errors="coerce").to_numpy(dtype=np.float64)
    r = pd.to_numeric(g["final_recall"], errors="coerce").to_numpy(dtype=np.float64)
    if "final_f1" in g and g["final_f1"].notna().any():
        f1 = pd.to_numeric(g["final_f1"], errors="coerce").to_numpy(dtype=np.float64)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    out = {"f1": f1, "precision": p, "recall": r}
    return {m: np.where(div | ~np.isfinite(v), 0.0, v) for m, v in out.items()}


def pr_budget_curves(runs: pd.DataFrame, boot: int = DEFAULT_BOOT, seed: int = 0,
                     level: float = 0.95) -> pd.DataFrame:
    """Best F1 over a budget of k settings and that run's precision and recall (expected, exact),
    with bootstrap bands, for every objective of every search panel whose runs recorded
    precision and recall. Columns: dataset, protocol, phase, gan, metric, k, value, lo, hi, n,
    n_diverged."""
    cols = ["dataset", "protocol", "phase", "gan", "metric", "k", "value", "lo", "hi", "n",
            "n_diverged"]
    if not {"final_precision", "final_recall"} <= set(runs.columns):
        return pd.DataFrame(columns=cols)
    rng = np.random.default_rng(seed)
    rows = []
    for panel in scored_panels(runs):
        kind, dists = distributions(panel)
        if kind != SEARCH or panel.runs["final_precision"].notna().sum() == 0:
            continue
        for gan, g in dists.items():
            vals = _pr_values(g)
            n = len(g)
            idx = rng.integers(0, n, size=(boot, n)) if boot and n > 1 else None
            for metric in PR_METRICS:
                value = expected_at_best(vals["f1"], vals[metric])
                lo, hi = value, value
                if idx is not None:
                    stat = np.array([expected_at_best(vals["f1"][i], vals[metric][i])
                                     for i in idx])
                    q = (1 - level) / 2
                    lo, hi = np.quantile(stat, [q, 1 - q], axis=0)
                rows.append(pd.DataFrame({
                    "dataset": panel.dataset, "protocol": panel.protocol, "phase": panel.phase,
                    "gan": gan, "metric": metric, "k": np.arange(1, n + 1), "value": value,
                    "lo": lo, "hi": hi, "n": n,
                    "n_diverged": int((g["status"] != "completed").sum())}))
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
