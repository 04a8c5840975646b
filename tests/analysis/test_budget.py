"""analysis.budget against brute-force enumeration of every k-subset of the runs."""

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.budget import (  # noqa: E402
    budget_curve,
    budget_curves,
    budget_weights,
    expected_at_best,
    expected_min,
    p_finite,
    pr_budget_curves,
)

INF = math.inf


def subsets(values, k):
    return list(itertools.combinations(values, k))


def brute_mean(values, k):
    return float(np.mean([min(s) for s in subsets(values, k)]))


def brute_median(values, k):
    # the lower median of the minimum over all k-subsets (each equally likely)
    mins = sorted(min(s) for s in subsets(values, k))
    return mins[(len(mins) - 1) // 2]


def test_weights_are_the_chance_that_the_ith_best_wins():
    n = 6
    w = budget_weights(n)
    for k in range(1, n + 1):
        wins = np.zeros(n)
        for s in subsets(range(n), k):  # index i = the (i+1)-th best run
            wins[min(s)] += 1
        assert w[k - 1] == pytest.approx(wins / math.comb(n, k))
    assert w[0] == pytest.approx(np.full(n, 1 / n)) and list(w[-1]) == [1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("values", [[3.0, 1.0, 2.0], [5.0, 5.0, 1.0, 9.0, 7.5],
                                    [12.1, 11.4, 13.0, 11.9, 12.6, 14.2, 11.7]])
def test_expected_min_is_exact(values):
    for k in range(1, len(values) + 1):
        assert expected_min(values, k) == pytest.approx(brute_mean(values, k))


def test_k_n_is_the_best_run_and_k_1_the_mean():
    values = np.random.default_rng(3).normal(12.0, 0.5, 20)
    curve = budget_curve(values, boot=0)
    assert curve["value"].iloc[-1] == values.min()  # exactly: the weights are (1, 0, ..., 0)
    assert curve["value"].iloc[0] == pytest.approx(values.mean(), rel=1e-12)
    assert (curve["stat"] == "mean").all() and curve["value"].is_monotonic_decreasing
    # never below the best run: drawing with replacement never reaches it at k = n
    assert curve["value"].min() == values.min()


def test_diverged_runs_by_hand():
    values = [10.0, INF, 20.0, INF, 30.0]  # d = 2 diverged of n = 5
    curve = budget_curve(values, boot=0).set_index("k")
    for k in range(1, 6):
        assert curve.loc[k, "mean"] == pytest.approx(brute_mean(values, k))  # inf for k <= 2
        assert curve.loc[k, "median"] == brute_median(values, k)
        share = np.mean([any(np.isfinite(s)) for s in subsets(values, k)])
        assert curve.loc[k, "p_finite"] == pytest.approx(share)
    assert math.isinf(curve.loc[2, "mean"]) and math.isfinite(curve.loc[3, "mean"])
    assert list(curve["stat"]) == ["median", "median", "mean", "mean", "mean"]
    # k = 1: 2 of 5 runs diverged -> median of {10, 20, 30, inf, inf} is 30, P(finite) = 3/5
    assert (curve.loc[1, "value"], curve.loc[1, "p_finite"]) == (30.0, pytest.approx(0.6))
    # k = n: the best finite run
    assert curve.loc[5, "value"] == 10.0
    assert list(p_finite(5, 2)) == pytest.approx([0.6, 0.9, 1.0, 1.0, 1.0])


def test_a_median_that_is_infinite_stays_infinite():
    curve = budget_curve([5.0, INF, INF], boot=0)  # k = 1: 2/3 diverged
    assert math.isinf(curve["median"].iloc[0]) and curve["value"].iloc[-1] == 5.0


def test_bootstrap_band_by_hand():
    values = np.array([1.0, 2.0, 3.5, 4.0])  # sorted: budget_curve resamples the sorted runs
    rng = np.random.default_rng(7)
    curve = budget_curve(values, boot=400, rng=np.random.default_rng(7))
    # the same resamples, each scored by brute force
    idx = rng.integers(0, 4, size=(400, 4))
    for k in (1, 2, 4):
        stat = np.array([brute_mean(values[i], k) for i in idx])
        row = curve[curve["k"] == k].iloc[0]
        assert row["lo"] == pytest.approx(np.quantile(stat, 0.025, method="lower"))
        assert row["hi"] == pytest.approx(np.quantile(stat, 0.975, method="higher"))
    # diverged runs stay in every resample; the finite ones are resampled
    curve = budget_curve([1.0, 3.0, INF], boot=300, rng=np.random.default_rng(5))
    idx = np.random.default_rng(5).integers(0, 2, size=(300, 2))
    for k in (2, 3):
        stat = np.array([brute_mean([*np.array([1.0, 3.0])[i], INF], k) for i in idx])
        row = curve[curve["k"] == k].iloc[0]
        assert row["lo"] == pytest.approx(np.quantile(stat, 0.025, method="lower"))
        assert row["hi"] == pytest.approx(np.quantile(stat, 0.975, method="higher"))
        assert np.isfinite(row["hi"])
    flat = budget_curve(np.full(5, 7.0), boot=100)
    assert np.allclose(flat[["lo", "value", "hi"]].to_numpy(float), 7.0)


def test_budget_curves_use_one_run_per_setting_and_skip_seeds_phases():
    rows = F.search("ns_gan", [30.0, 20.0, INF, 25.0], phase="phase1")
    # a second seed of setting 1 with a better FID must not enter the search distribution
    rows.append(F.run("ns_gan", 5.0, seed=1, sample=1, phase="phase1"))
    rows += F.seeds("ns_gan", [19.0, 21.0, 20.0], sample=1, phase="phase3")
    curves = budget_curves(F.frame(rows), boot=0)
    assert set(curves["phase"]) == {"phase1"}
    assert (curves["n"] == 4).all() and (curves["n_diverged"] == 1).all()
    values = [30.0, 20.0, INF, 25.0]
    assert list(curves["mean"]) == pytest.approx([brute_mean(values, k) for k in range(1, 5)])
    assert curves["value"].iloc[-1] == 20.0


def test_precision_recall_of_the_best_f1_by_hand():
    f1 = np.array([0.5, 0.9, 0.7, 0.2])
    prec = np.array([0.6, 0.8, 0.9, 0.1])
    got = expected_at_best(f1, prec)
    for k in range(1, 5):
        brute = np.mean([prec[max(s, key=lambda i: f1[i])] for s in subsets(range(4), k)])
        assert got[k - 1] == pytest.approx(brute)
    rows = [F.run("ns_gan", 9.0, dataset="triangles", sample=i, final_precision=p,
                  final_recall=r, final_f1=f) for i, (p, r, f) in
            enumerate([(0.6, 0.45, 0.5), (0.8, 1.0, 0.9), (0.9, 0.56, 0.7)])]
    rows.append(F.run("ns_gan", INF, dataset="triangles", sample=3))  # diverged: 0, 0, 0
    pr = pr_budget_curves(F.frame(rows), boot=0)
    f1_curve = pr[pr["metric"] == "f1"]["value"].to_numpy()
    assert f1_curve[0] == pytest.approx(np.mean([0.5, 0.9, 0.7, 0.0]))
    assert f1_curve[-1] == pytest.approx(0.9)
    assert pr[pr["metric"] == "recall"]["value"].iloc[-1] == pytest.approx(1.0)
