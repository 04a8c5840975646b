"""Do the objectives' FID distributions differ? An omnibus test per panel, then pairwise tests.

Per panel (phase x dataset x protocol), on the panel's distributions (analysis.stats: one run
per setting in a search panel, the seeds of the one setting in a seeds panel), diverged runs
= +inf (the worst rank, as everywhere):

1. Kruskal-Wallis across the objectives with at least `min_runs` runs (scipy.stats.kruskal),
   effect size epsilon² = H / (N - 1).
2. Only where the omnibus test rejects at `alpha`: two-sided Mann-Whitney U for each pair,
   Holm-corrected over the panel's pairs.
3. Effect size of each pair: P(A lower) = P(a random run of A has a lower FID than one of B),
   ties counting half (1 - U / (n_a n_b)), with a score-type confidence interval
   (`prob_lower_interval`).

What a difference means depends on the distribution: across a wide search it says how the
objectives fare over that search space (robustness to the hyperparameters), not which one is
better at its best; only seeds of the best settings compare the best models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import kruskal, mannwhitneyu, norm

from analysis.stats import SEARCH, distributions, scored_panels
from analysis.style import gan_label

OMNIBUS_COLUMNS = ["dataset", "protocol", "phase", "kind", "gans", "n_runs", "h", "df",
                   "epsilon2", "p", "left_out", "verdict"]
PAIR_COLUMNS = ["dataset", "protocol", "phase", "kind", "a", "b", "n_a", "n_b", "div_a",
                "div_b", "median_a", "median_b", "p_a_lower", "p_a_lower_lo", "p_a_lower_hi",
                "u", "p", "p_holm", "verdict"]


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


def prob_lower(a: np.ndarray, b: np.ndarray) -> float:
    """P(a random value of a is lower than one of b), ties counting half."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(_wins(a, b).mean())


def _wins(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # (n_a, n_b): 1 where a_i < b_j, 1/2 on ties (+inf ties +inf), 0 otherwise
    return (a[:, None] < b[None, :]) + 0.5 * (a[:, None] == b[None, :])


def prob_lower_interval(n_a: int, n_b: int, estimate: float,
                        level: float = 0.95) -> tuple[float, float]:
    """Score-type interval for P(A lower): every theta with (theta - estimate)² <= z² V(theta),

        V(theta) = theta (1 - theta) / (n_a n_b) * (1 + (N - 1) ((1 - theta) / (2 - theta)
                                                                  + theta / (1 + theta)))

    Hanley and McNeil's variance of the Mann-Whitney AUC with n_a - 1 and n_b - 1 replaced by
    N - 1, N = (n_a + n_b) / 2 (Newcombe 2006). Unlike a bootstrap or Wald interval it does not
    shrink to a point when the two samples do not overlap (estimate 0 or 1).
    """
    z = float(norm.ppf(0.5 + level / 2))
    big_n = (n_a + n_b) / 2

    def excess(t: float) -> float:
        v = t * (1 - t) / (n_a * n_b) * (1 + (big_n - 1) * ((1 - t) / (2 - t) + t / (1 + t)))
        return (t - estimate) ** 2 - z * z * v

    inside = min(max(estimate, 1e-9), 1 - 1e-9)
    if excess(inside) >= 0:  # no room (cannot happen for 0 <= estimate <= 1 and n >= 1)
        return estimate, estimate
    lo = brentq(excess, 0.0, inside) if excess(0.0) > 0 else 0.0
    hi = brentq(excess, inside, 1.0) if excess(1.0) > 0 else 1.0
    return float(lo), float(hi)


def _omnibus(panel_values: dict[str, np.ndarray], alpha: float) -> dict[str, Any]:
    values = list(panel_values.values())
    n = sum(len(v) for v in values)
    row: dict[str, Any] = {"h": np.nan, "df": len(values) - 1, "epsilon2": np.nan, "p": np.nan}
    if len(values) < 2:
        return row | {"verdict": "fewer than 2 objectives to compare"}
    if len(np.unique(np.concatenate(values))) == 1:
        return row | {"verdict": "every run has the same FID"}
    h, p = kruskal(*values)
    row.update(h=float(h), p=float(p), epsilon2=float(h) / (n - 1))
    row["verdict"] = (f"the distributions differ (p < {alpha})" if p < alpha
                      else "no evidence that the distributions differ")
    return row


def _pair_verdict(r: dict[str, Any], kind: str, alpha: float, omnibus_p: float) -> str:
    if not omnibus_p < alpha:
        return "not tested (omnibus test not significant)"
    if not r["p_holm"] < alpha:
        return "no significant difference"
    lower = gan_label(r["a"] if r["p_a_lower"] > 0.5 else r["b"])
    if kind == SEARCH:
        return f"{lower}'s search runs tend lower"
    return f"{lower} lower (seeds of the best settings)"


def significance(runs: pd.DataFrame, fid: str = "final", alpha: float = 0.05,
                 min_runs: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(omnibus, pairwise) tables over every panel with at least two objectives of `min_runs`
    runs; a panel without is absent from both (the caller says so in one line)."""
    omni_rows, pair_rows = [], []
    for panel in scored_panels(runs, fid):
        kind, dists = distributions(panel)
        values = {g: d["score"].to_numpy() for g, d in dists.items()}
        testable = {g: v for g, v in values.items() if len(v) >= min_runs}
        if len(testable) < 2:
            continue
        key = {"dataset": panel.dataset, "protocol": panel.protocol, "phase": panel.phase,
               "kind": kind}
        omni = key | _omnibus(testable, alpha) | {
            "gans": list(testable), "n_runs": sum(len(v) for v in testable.values()),
            "left_out": [g for g in values if g not in testable]}
        omni_rows.append(omni)
        first = len(pair_rows)
        gans = list(testable)
        for i, a in enumerate(gans):
            for b in gans[i + 1:]:
                xa, xb = testable[a], testable[b]
                res = mannwhitneyu(xa, xb, alternative="two-sided")
                p_lower = prob_lower(xa, xb)
                lo, hi = prob_lower_interval(len(xa), len(xb), p_lower)
                pair_rows.append(key | {
                    "a": a, "b": b, "n_a": len(xa), "n_b": len(xb),
                    "div_a": int(np.isinf(xa).sum()), "div_b": int(np.isinf(xb).sum()),
                    "median_a": float(np.median(xa)), "median_b": float(np.median(xb)),
                    "p_a_lower": p_lower, "p_a_lower_lo": lo, "p_a_lower_hi": hi,
                    "u": float(res.statistic), "p": float(res.pvalue)})
        adjusted = holm(np.array([r["p"] for r in pair_rows[first:]], dtype=np.float64))
        for r, ph in zip(pair_rows[first:], adjusted, strict=True):
            r["p_holm"] = ph
            r["verdict"] = _pair_verdict(r, kind, alpha, omni["p"])
    return (pd.DataFrame(omni_rows, columns=OMNIBUS_COLUMNS),
            pd.DataFrame(pair_rows, columns=PAIR_COLUMNS))


def pairwise_tests(runs: pd.DataFrame, fid: str = "final", alpha: float = 0.05,
                   min_runs: int = 2) -> pd.DataFrame:
    """The pairwise half of `significance`."""
    return significance(runs, fid, alpha, min_runs)[1]
