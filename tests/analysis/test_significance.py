"""analysis.significance against scipy.stats run by hand and hand computation."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kruskal, mannwhitneyu

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.significance import (  # noqa: E402
    holm,
    prob_lower,
    prob_lower_interval,
    significance,
)
from analysis.tables import significance_table  # noqa: E402

INF = math.inf


def test_holm_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.20])
    # sorted 0.01, 0.03, 0.04, 0.20 (m=4): 0.04, 0.09, max(0.09, 0.08)=0.09, max(.., 0.20)=0.20
    assert holm(p)[[0, 2, 1, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert np.isnan(holm(p)[3])


def test_omnibus_then_pairwise_against_scipy():
    a = [10.0 + 0.3 * i for i in range(8)]
    b = [30.0 + 0.3 * i for i in range(8)]
    c = [10.15 + 0.3 * i for i in range(7)] + [INF]  # one diverged: +inf, the worst rank
    runs = F.frame(F.search("ns_gan", a) + F.search("wgan", b) + F.search("began", c))
    omni, pairs = significance(runs)
    (o,) = omni.itertuples()
    ref = kruskal(a, b, c)
    assert (o.h, o.p) == pytest.approx((ref.statistic, ref.pvalue))
    assert o.epsilon2 == pytest.approx(ref.statistic / (24 - 1)) and o.kind == "search"
    r = pairs.set_index(["a", "b"])
    ref = mannwhitneyu(a, b, alternative="two-sided")
    assert r.loc[("ns_gan", "wgan"), "p"] == pytest.approx(ref.pvalue)
    wins = sum((x < y) + 0.5 * (x == y) for x in b for y in c) / 64
    assert r.loc[("wgan", "began"), "p_a_lower"] == pytest.approx(wins) == 8 / 64
    assert r.loc[("wgan", "began"), "div_b"] == 1
    p_raw = [mannwhitneyu(x, y).pvalue for x, y in ((a, b), (a, c), (b, c))]
    assert list(pairs["p_holm"]) == pytest.approx(list(holm(np.array(p_raw))))
    # a search: the wording is about the search runs, not "the better model"
    assert r.loc[("ns_gan", "wgan"), "verdict"] == "NS GAN's search runs tend lower"
    assert r.loc[("wgan", "began"), "verdict"] == "BEGAN's search runs tend lower"
    assert r.loc[("ns_gan", "began"), "verdict"] == "no significant difference"


def test_seeds_panels_name_the_lower_model():
    runs = F.frame(F.seeds("ns_gan", [10.0 + 0.1 * i for i in range(6)])
                   + F.seeds("wgan", [20.0 + 0.1 * i for i in range(6)]))
    _, pairs = significance(runs)
    assert pairs["verdict"].item() == "NS GAN lower (seeds of the best settings)"


def test_no_pairwise_claim_without_the_omnibus_test():
    runs = F.frame(F.search("ns_gan", [1.0, 5.0, 3.0]) + F.search("wgan", [2.0, 4.0, 6.0]))
    omni, pairs = significance(runs)
    assert omni["p"].item() > 0.05
    assert pairs["verdict"].item() == "not tested (omnibus test not significant)"


def test_degenerate_inputs_give_one_line():
    runs = F.frame([F.run(g, f) for g, f in (("ns_gan", 1.0), ("wgan", 2.0), ("began", 3.0))])
    omni, pairs = significance(runs)
    assert omni.empty and pairs.empty
    result = significance_table(runs)
    assert result.table is None and result.note.startswith("No significance test")
    # an objective with one run is left out and named; the others are still tested
    runs = F.frame(F.search("ns_gan", [1.0, 2.0, 3.0]) + F.search("wgan", [5.0, 6.0, 7.0])
                   + [F.run("began", 4.0)])
    omni, _ = significance(runs)
    assert omni["left_out"].item() == ["began"] and omni["gans"].item() == ["ns_gan", "wgan"]


def test_effect_size_interval():
    assert prob_lower([1.0, 2.0], [3.0, INF]) == 1.0
    assert prob_lower([INF], [INF]) == 0.5
    lo, hi = prob_lower_interval(6, 6, 1.0)
    assert hi == 1.0 and 0.5 < lo < 1.0  # open even when the samples do not overlap
    # symmetric: swapping A and B mirrors the interval
    lo2, hi2 = prob_lower_interval(6, 6, 0.0)
    assert (lo2, hi2) == pytest.approx((1 - hi, 1 - lo))
    # the ends solve (t - est)^2 = z^2 V(t): check on a fine grid of t
    n_a, n_b, est, z = 12, 9, 0.7, 1.959963984540054
    t = np.linspace(1e-6, 1 - 1e-6, 2_000_001)
    v = t * (1 - t) / (n_a * n_b) * (1 + ((n_a + n_b) / 2 - 1) * ((1 - t) / (2 - t) + t / (1 + t)))
    inside = t[(t - est) ** 2 <= z * z * v]
    lo, hi = prob_lower_interval(n_a, n_b, est)
    assert (lo, hi) == pytest.approx((inside.min(), inside.max()), abs=1e-6)
