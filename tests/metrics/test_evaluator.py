from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.data.base import Data, to_model_space
from benchmark.data.toys import ring8
from benchmark.metrics import cache as cache_module
from benchmark.metrics import evaluator as evaluator_module
from benchmark.metrics.cache import ProcessMemo
from benchmark.metrics.evaluator import METRICS, Evaluator, Generated, register_metric
from benchmark.metrics.features import ClassifierFeatures, RawFeatures
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.kid import kid
from benchmark.metrics.stats import RunningStats

PROTOCOL = ("extractor", "extractor_id", "extractor_weights", "n_gen", "n_real",
            "reference_split", "fid_floor")


def sequential(x: torch.Tensor, calls: list[int] | None = None) -> Callable[[int], torch.Tensor]:
    """A 'generator' that hands out the rows of x in order, in model space (logging each n)."""
    pos = 0

    def sample(n: int) -> torch.Tensor:
        nonlocal pos
        if calls is not None:
            calls.append(n)
        out = to_model_space(x[pos : pos + n])
        pos += n
        return out

    return sample


def fid_of(gen: torch.Tensor, real: torch.Tensor) -> float:
    """FID of raw points by hand: numpy's means and covariances."""
    g, r = gen.double().numpy(), real.double().numpy()
    return frechet_distance(g.mean(0), np.cov(g, rowvar=False), r.mean(0), np.cov(r, rowvar=False))


@pytest.fixture(scope="module")
def ring() -> Data:
    return ring8(n_train=3000, n_test=1000)


@pytest.fixture(autouse=True)
def _fewer_kid_subsets(monkeypatch: pytest.MonkeyPatch) -> None:
    # The protocol's 100 subsets cost seconds on a loaded CPU; 10 test the same code.
    monkeypatch.setattr(evaluator_module, "KID_SUBSETS", 10)


# --- 2-D toy with raw features --------------------------------------------------------------


def test_every_metric_on_ring8(ring: Data) -> None:
    ev = Evaluator(ring, RawFeatures(ring), ["fid", "kid", "pr", "modes"], num_samples=1000,
                   batch_size=300)
    ev.prepare()
    calls: list[int] = []
    got = ev(sequential(ring.train, calls))
    assert calls == [300, 300, 300, 100]  # one draw, batched, whatever the metrics
    assert list(got) == ["fid", "kid_mean", "kid_std", "precision", "recall", "modes_covered",
                         "high_quality", *PROTOCOL]
    assert {k: got[k] for k in PROTOCOL if k != "fid_floor"} == {
        "extractor": "raw", "extractor_id": RawFeatures(ring).short_id(),
        "extractor_weights": "none", "n_gen": 1000, "n_real": 1000, "reference_split": "test"}
    # The real-vs-real floor: 1000 train points against the test split, below the FID of the
    # generator that drops a mode (further down) and equal to the FID of that same sample.
    idx = torch.randperm(len(ring.train), generator=torch.Generator().manual_seed(0))[:1000]
    floor = fid_of(ring.train[idx], ring.test)
    assert got["fid_floor"] == pytest.approx(floor, rel=1e-9) and 0 < got["fid_floor"] < 0.1
    # Train samples against the test split: the same distribution.
    assert got["fid"] < 0.1  # mixture weights vary by ~1/sqrt(125) per mode at n=1000
    assert abs(got["kid_mean"]) < 0.15  # subsets of 1000 from 1000: std 0, noise ~0.07
    assert got["precision"] > 0.9 and got["recall"] > 0.9
    assert got["modes_covered"] == 8
    assert got["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.015)

    # A generator that drops mode 0: good samples, 7 modes, recall about 7/8.
    dropped = ev(sequential(ring.train[ring.train_labels != 0]))
    assert dropped["modes_covered"] == 7
    assert dropped["precision"] > 0.9 and dropped["recall"] < 0.9
    # Raw-feature FID barely sees it (0.03 -> 0.08: the first two moments hardly move).
    assert dropped["kid_mean"] > 2 * got["kid_mean"] and dropped["fid"] > got["fid"]


def test_values_equal_the_single_metric_functions(ring: Data) -> None:
    ev = Evaluator(ring, RawFeatures(ring), ["fid", "kid", "pr"], num_samples=500, batch_size=128)
    got = ev(sequential(ring.train))
    gen = ring.train[:500]
    stats = RunningStats(2)
    for batch in gen.split(128):  # the evaluator's batches: bitwise the same running stats
        stats.update(batch)
    g, ref = stats.finalize(), ev.reference.stats()
    assert got["fid"] == frechet_distance(g.mu, g.sigma, ref.mu, ref.sigma)
    assert got["fid"] == pytest.approx(fid_of(gen, ring.test), rel=1e-9)
    assert (got["kid_mean"], got["kid_std"]) == kid(gen, ring.test, subsets=10, seed=0)
    from benchmark.metrics.precision_recall import precision_recall
    assert {k: got[k] for k in ("precision", "recall")} == precision_recall(ring.test, gen, k=3)


def test_fid_alone_keeps_only_the_stats(ring: Data) -> None:
    # 10k Inception features are 80 MB: kept only when a metric reads them, not for FID.
    ev = Evaluator(ring, RawFeatures(ring), ["fid"], num_samples=600, batch_size=250)
    gen = ev.generate(sequential(ring.train))
    assert gen.samples is None and gen.features is None and gen.finite
    assert gen.stats is not None and gen.stats.n == 600
    got = ev(sequential(ring.train))
    assert list(got) == ["fid", *PROTOCOL] and ev.keys == ("fid",)
    assert got["fid"] == pytest.approx(fid_of(ring.train[:600], ring.test), rel=1e-9)
    both = Evaluator(ring, RawFeatures(ring), ["modes", "kid"], num_samples=600).generate(
        sequential(ring.train))
    assert both.stats is None and both.samples.shape == both.features.shape == (600, 2)


def test_a_registered_metric_is_computed_and_recorded(ring: Data,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # What a new metric takes: one registered function (then eval.metrics=[fid,spread]).
    monkeypatch.setattr(evaluator_module, "METRICS", dict(METRICS))

    @register_metric("spread", ("spread",), reads={"features"},
                     protocol=lambda ev: {"spread_of": ev.reference.split})
    def spread(ev: Evaluator, gen: Generated) -> dict[str, float]:
        assert gen.features is not None
        return {"spread": float(gen.features.std(0).mean() / ev.reference.features().std(0).mean())}

    ev = Evaluator(ring, RawFeatures(ring), ["fid", "spread"], num_samples=500)
    got = ev(sequential(ring.train))
    assert list(got)[:2] == ["fid", "spread"] and got["spread_of"] == "test"
    assert got["spread"] == pytest.approx(1.0, abs=0.05)
    with pytest.warns(RuntimeWarning, match=r"\['fid', 'spread'\] are NaN"):
        assert math.isnan(ev(lambda n: torch.full((n, 2), math.nan))["spread"])
    with pytest.raises(ValueError, match="registered twice"):
        register_metric("spread", ("x",), reads={"features"})
    with pytest.raises(ValueError, match="reads"):
        register_metric("other", ("y",), reads={"pixels"})
    with pytest.raises(ValueError, match=r"eval.options for \['spread'\], which take no options"):
        Evaluator(ring, RawFeatures(ring), ["fid"], num_samples=10, options={"spread": {"k": 1}})


def test_metrics_as_a_string_and_deduplicated(ring: Data) -> None:
    assert Evaluator(ring, RawFeatures(ring), "modes", num_samples=10).metrics == ("modes",)
    ev = Evaluator(ring, RawFeatures(ring), ["modes", "fid", "modes"], num_samples=10)
    assert ev.metrics == ("modes", "fid")


def test_real_features_cached_on_disk(ring: Data, cache_tmp: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ev = Evaluator(ring, RawFeatures(ring), ["pr"], num_samples=200)
    ev.prepare()
    (path,) = (cache_tmp / "fid_features").glob("*.npy")
    assert path.name.startswith("ring8-test-raw-")
    np.testing.assert_array_equal(np.load(path), ring.test.numpy())
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    assert sidecar["fields"]["kind"] == "reference_features"
    assert sidecar["fields"]["data_fingerprint"] == ring.fingerprint()
    assert not (cache_tmp / "fid_stats").exists()  # fid not requested: no reference stats

    # A fresh process (empty memo) reads the file instead of extracting again.
    monkeypatch.setattr(cache_module, "MEMO", ProcessMemo())
    features = RawFeatures(ring)

    def no_extract(x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(features, "_extract", no_extract)
    again = Evaluator(ring, features, ["kid"], num_samples=200)
    np.testing.assert_array_equal(again.reference.features(), ring.test.numpy())


def test_non_finite_samples_give_nan(ring: Data) -> None:
    ev = Evaluator(ring, RawFeatures(ring), ["fid", "kid", "pr", "modes"], num_samples=100)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        got = ev(lambda n: torch.full((n, 2), math.nan))
    assert all(math.isnan(got[k]) for k in ("fid", "kid_mean", "kid_std", "precision", "recall"))
    assert got["modes_covered"] == 0 and got["high_quality"] == 0.0


def test_unknown_metric_lists_the_valid_ones(ring: Data) -> None:
    with pytest.raises(ValueError, match=r"unknown eval.metrics \['is'\]; valid metrics are "
                                         r"\['fid', 'fid_inf', 'kid', 'modes', 'pr', "
                                         r"'triangles'\]"):
        Evaluator(ring, RawFeatures(ring), ["fid", "is"], num_samples=10)
    with pytest.raises(ValueError, match="empty"):
        Evaluator(ring, RawFeatures(ring), [], num_samples=10)
    assert sorted(METRICS) == ["fid", "fid_inf", "kid", "modes", "pr", "triangles"]


# --- digits with classifier features ------------------------------------------------------------


def test_modes_needs_a_toy(digits16: Data, digits_features: ClassifierFeatures) -> None:
    with pytest.raises(ValueError, match=r"eval.metrics=\['modes'\] needs a toy dataset with modes"):
        Evaluator(digits16, digits_features, ["fid", "modes"], num_samples=100)


def test_digits_train_beats_noise(digits16: Data, digits_features: ClassifierFeatures) -> None:
    n = digits16.test.shape[0]
    ev = Evaluator(digits16, digits_features, ["fid", "kid", "pr"], num_samples=n, batch_size=128)
    ev.prepare()
    train = ev(sequential(digits16.train))
    g = torch.Generator().manual_seed(0)
    noise = ev(lambda k: torch.rand(k, *digits16.sample_shape, generator=g))
    fid = Evaluator(digits16, digits_features, ["fid"], num_samples=n,
                    batch_size=128)(sequential(digits16.train))
    # the one draw of four metrics gives the FID (and protocol) of a draw for FID alone
    assert train == {**fid, **{k: train[k] for k in ("kid_mean", "kid_std", "precision", "recall")}}
    assert list(train)[:5] == ["fid", "kid_mean", "kid_std", "precision", "recall"]
    assert 0 < train["fid"] < noise["fid"] / 20
    assert abs(train["kid_mean"]) < noise["kid_mean"] / 20
    assert train["precision"] > 0.6 and train["recall"] > 0.6
    assert noise["precision"] < 0.05 and noise["recall"] < 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # KID subsets capped at n (360 < 1000) without fuss
        ev(sequential(digits16.train))


def test_fid_inf_only_when_requested(ring: Data) -> None:
    from benchmark.metrics.fid_inf import fid_infinity

    ev = Evaluator(ring, RawFeatures(ring), ["fid", "fid_inf"], num_samples=1000, batch_size=400)
    got = ev(sequential(ring.train))
    ref = ev.reference.stats()
    assert got["fid_inf"] == pytest.approx(fid_infinity(ring.train[:1000], ref.mu, ref.sigma).value,
                                           rel=1e-9)
    plain = Evaluator(ring, RawFeatures(ring), ["fid"], num_samples=1000)(sequential(ring.train))
    assert "fid_inf" not in plain and plain["fid"] == pytest.approx(got["fid"])
