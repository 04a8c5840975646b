"""analysis.stats against hand computation: scores, phases, distributions, best FID."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.stats import (  # noqa: E402
    NO_PHASE,
    SEARCH,
    SEEDS,
    best_fid,
    distributions,
    one_per_setting,
    phases,
    scored_panels,
    scores,
    split_phases,
)

INF = math.inf

# mnist: 2 learning rates x 3 seeds per objective; None = failed run, INF = diverged
SEEDED = {
    "ns_gan": {"lr1": [30.0, 34.0, 32.0], "lr4": [20.0, 26.0, 23.0]},
    "lsgan": {"lr1": [40.0, 44.0, 42.0], "lr4": [18.0, 22.0, INF]},
    "wgan_gp": {"lr1": [25.0, 27.0, 29.0], "lr4": [None, 24.0, 26.0]},
}


def seeded_frame():
    rows = []
    for gan, by_lr in SEEDED.items():
        for sample, (lr, fids) in enumerate(by_lr.items()):
            rows += [F.run(gan, f, seed=s, sample=sample, setting=f"{gan}-{lr}",
                           **{"gan.lr": 1e-4 if lr == "lr1" else 4e-4})
                     for s, f in enumerate(fids)]
    rows.append(F.run("ns_gan", 15.0, seed=3, sample=1, setting="ns_gan-lr4", status="running"))
    return F.frame(rows)


def _row(table, dataset, gan, phase=NO_PHASE):
    hit = table[(table["dataset"] == dataset) & (table["gan"] == gan) & (table["phase"] == phase)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_scores_conventions():
    runs = F.frame([F.run("a", 3.0), F.run("a", INF), F.run("a", None),
                    F.run("a", 2.0, status="running"), F.run("a", math.nan)])
    s = scores(runs).tolist()
    assert s[0] == 3.0 and math.isinf(s[1]) and math.isnan(s[2]) and math.isnan(s[3])
    assert math.isinf(s[4])  # a completed run with a NaN FID: a broken model, +inf


def test_phases_absent_empty_and_mixed():
    rows = F.search("ns_gan", [1.0, 2.0])
    assert phases(F.frame(rows, phase_column=False)) == [NO_PHASE]
    assert phases(F.frame(rows)) == [NO_PHASE]  # the column is all None
    mixed = F.frame(F.search("ns_gan", [1.0], phase="phase3_seeds")
                    + F.search("ns_gan", [1.0], phase="phase1_wide") + rows)
    assert phases(mixed) == ["phase1_wide", "phase3_seeds", NO_PHASE]
    assert [len(r) for _, r in split_phases(mixed)] == [1, 1, 2]


def test_one_run_per_setting_is_the_lowest_seed_whatever_it_scored():
    runs = F.frame([F.run("a", 9.0, seed=2, setting="s1"), F.run("a", 1.0, seed=5, setting="s1"),
                    F.run("a", 4.0, seed=0, setting="s2"), F.run("a", 3.0, seed=1, setting="s2")])
    kept = one_per_setting(runs)
    assert sorted(kept["final_fid"]) == [4.0, 9.0]


def test_phase_1_and_phase_3_are_never_pooled():
    rows = []
    for gan, base in (("ns_gan", 20.0), ("wgan", 30.0)):
        rows += F.search(gan, [base + i for i in range(10)], phase="phase1_wide")
        # phase 3 reruns setting 0 with 5 seeds: the same setting id as phase 1's sample 0
        rows += F.seeds(gan, [base - 1, base, base + 1, base + 2, base - 2], sample=0,
                        phase="phase3_seeds")
    runs = F.frame(rows)
    got = {(p.phase, kind): {g: len(d) for g, d in dists.items()}
           for p in scored_panels(runs) for kind, dists in [distributions(p)]}
    assert got == {("phase1_wide", SEARCH): {"ns_gan": 10, "wgan": 10},
                   ("phase3_seeds", SEEDS): {"ns_gan": 5, "wgan": 5}}
    best = best_fid(runs)
    one = _row(best, "mnist", "ns_gan", "phase1_wide")
    assert (one["mode"], one["fid"], one["n_runs"]) == (SEARCH, 20.0, 10)
    assert one["statistic"] == "minimum over 10 settings"
    three = _row(best, "mnist", "ns_gan", "phase3_seeds")
    assert three["mode"] == SEEDS and three["fid"] == pytest.approx(20.0)
    assert three["std"] == pytest.approx(np.std([19, 20, 21, 22, 18], ddof=1))
    assert three["statistic"] == "mean ± std over the 5 seeds of the best setting"


def test_best_fid_mean_std_over_seeds_of_the_best_setting():
    table = best_fid(seeded_frame(), "final")
    # ns_gan: lr4 has the lower median (23 < 32): mean and std (ddof=1) of 20, 26, 23
    r = _row(table, "mnist", "ns_gan")
    assert r["mode"] == SEEDS and r["protocol"] == "FID-2k/test, classifier"
    assert (r["fid"], r["std"]) == pytest.approx((23.0, 3.0))
    assert r["setting_desc"] == "sample=1, gan.lr=0.0004"
    assert r["n_runs"] == 6  # the running run does not count
    # lsgan: lr4 holds a diverged seed (+inf) yet its median 22 beats 42: mean and std of its
    # finite seeds, the diverged one counted apart
    r = _row(table, "mnist", "lsgan")
    assert (r["fid"], r["std"]) == pytest.approx((20.0, np.std([18.0, 22.0], ddof=1)))
    assert (r["n_seeds"], r["n_seeds_diverged"], r["n_diverged"]) == (3, 1, 1)
    # wgan_gp: the failed seed is left out: lr4 has 24, 26 (median 25 < 27)
    r = _row(table, "mnist", "wgan_gp")
    assert (r["fid"], r["std"], r["n_seeds"], r["n_runs"]) == pytest.approx(
        (25.0, math.sqrt(2), 2, 5))


def test_best_fid_min_over_settings_and_all_diverged():
    runs = F.frame(F.search("lsgan", [2.0, INF, 0.8, 5.0], dataset="ring8", extractor="raw")
                   + F.search("wgan_gp", [INF, INF], dataset="ring8", extractor="raw"))
    table = best_fid(runs)
    ls = _row(table, "ring8", "lsgan")
    assert (ls["mode"], ls["fid"], ls["n_diverged"], ls["sample"]) == (SEARCH, 0.8, 1, 2)
    wg = _row(table, "ring8", "wgan_gp")
    assert math.isinf(wg["fid"]) and wg["n_diverged"] == 2


def test_best_fid_uses_the_chosen_fid_and_the_floor():
    rows = F.search("ns_gan", [10.0, 12.0], final_fid_floor=4.3)
    for r, best in zip(rows, (9.0, 7.0), strict=True):
        r["best_fid"] = best
    table = best_fid(F.frame(rows), "best")
    assert _row(table, "mnist", "ns_gan")["fid"] == 7.0
    assert _row(table, "mnist", "ns_gan")["floor"] == 4.3
