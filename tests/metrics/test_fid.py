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
from benchmark.metrics import fid as fid_module
from benchmark.metrics.cache import ProcessMemo
from benchmark.metrics.evaluator import Evaluator
from benchmark.metrics.features import ClassifierFeatures, FeatureExtractor, RawFeatures
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.reference import Reference
from benchmark.metrics.stats import FeatureStats


def fid_only(data: Data, extractor: FeatureExtractor, num_samples: int, **kw: object) -> Evaluator:
    """The registry's "fid" entry alone (before the registry, a class FID of its own)."""
    return Evaluator(data, extractor, ["fid"], num_samples=num_samples, **kw)  # type: ignore[arg-type]


def floor(ev: Evaluator) -> float:
    return fid_module.floor(ev.reference, ev.num_samples)


def sequential(x: torch.Tensor) -> Callable[[int], torch.Tensor]:
    """A 'generator' that hands out the rows of x in order, in model space."""
    pos = 0

    def sample(n: int) -> torch.Tensor:
        nonlocal pos
        out = to_model_space(x[pos : pos + n])
        pos += n
        return out

    return sample


def gaussian_points(n: int, shift: float = 0.0, seed: int = 0) -> Callable[[int], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return lambda k: torch.randn(k, 2, generator=g) + shift


@pytest.fixture
def gauss2d() -> Data:
    g = torch.Generator().manual_seed(1)
    return Data(name="gauss2d", train=torch.randn(4000, 2, generator=g),
                test=torch.randn(4000, 2, generator=g))


# --- classifier features on digits ------------------------------------------------------------


def test_test_split_against_itself_is_zero(digits_features: ClassifierFeatures, digits16: Data) -> None:
    n = digits16.test.shape[0]
    fid = fid_only(digits16, digits_features, num_samples=n, batch_size=100)
    result = fid(sequential(digits16.test))
    assert abs(result["fid"]) < 1e-6
    assert result == {"fid": result["fid"], "extractor": "classifier",
                      "extractor_id": digits_features.short_id(),
                      "extractor_weights": digits_features.weights_hash, "n_gen": n, "n_real": n,
                      "reference_split": "test", "fid_floor": result["fid_floor"]}
    # The floor: n train images against the test split; well above this FID of 0.
    assert result["fid_floor"] == floor(fid) > 1.0


def test_noise_is_far_worse_than_train(digits_features: ClassifierFeatures, digits16: Data) -> None:
    n = digits16.test.shape[0]
    fid = fid_only(digits16, digits_features, num_samples=n, batch_size=128)
    train_fid = fid(sequential(digits16.train))["fid"]
    g = torch.Generator().manual_seed(0)
    noise_fid = fid(lambda k: torch.rand(k, *digits16.sample_shape, generator=g))["fid"]
    assert 0 < train_fid < noise_fid / 20


# --- raw features on points ------------------------------------------------------------------


def test_raw_fid_on_points(gauss2d: Data) -> None:
    fid = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=4000, batch_size=1000)
    same = fid(gaussian_points(4000, seed=5))
    shifted = fid(gaussian_points(4000, shift=3.0, seed=5))
    assert same["extractor"] == "raw" and same["n_real"] == 4000
    assert same["fid"] < 0.02
    # N(0, I) vs N(3·1, I) in 2-D: ||mu1 - mu2||² = 18, covariances equal.
    assert shifted["fid"] == pytest.approx(18.0, rel=0.05)


def test_raw_fid_on_toy_mixture() -> None:
    data = ring8(n_train=2000, n_test=2000)
    fid = fid_only(data, RawFeatures(data), num_samples=2000, batch_size=500)
    real = fid(sequential(data.train))["fid"]
    collapsed = fid(lambda k: data.modes[0].expand(k, 2) + 0.02 * torch.randn(k, 2))["fid"]
    assert real < 0.05 < 1.0 < collapsed  # one mode instead of eight


# --- reference caching, validation, warnings -------------------------------------------------


def test_reference_is_cached_on_disk_and_in_memory(gauss2d: Data, cache_tmp: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fid = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10)
    ref = fid.reference.stats()
    assert fid.reference.stats() is ref
    assert isinstance(ref, FeatureStats) and ref.n == 4000
    np.testing.assert_allclose(ref.mu, gauss2d.test.double().mean(0).numpy(), rtol=1e-10)
    (npz,) = (cache_tmp / "fid_stats").glob("*.npz")
    assert npz.name.startswith("gauss2d-test-raw-")
    sidecar = json.loads(npz.with_name(npz.name + ".json").read_text())
    assert sidecar["fields"]["reference_split"] == "test" and sidecar["fields"]["n"] == 4000

    def no_compute(self, x):
        raise AssertionError("reference stats should come from the cache")

    monkeypatch.setattr(Reference, "real_stats", no_compute)
    assert fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10).reference.stats() is ref  # memo
    monkeypatch.setattr(cache_module, "MEMO", ProcessMemo())
    from_disk = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10).reference.stats()  # disk
    np.testing.assert_array_equal(from_disk.sigma, ref.sigma)


def test_reference_key_depends_on_split(gauss2d: Data, cache_tmp: Path) -> None:
    fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10).prepare()
    fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10, reference_split="train").prepare()
    assert len(list((cache_tmp / "fid_stats").glob("*.npz"))) == 2


def test_num_samples_validation(gauss2d: Data) -> None:
    with pytest.raises(ValueError, match="eval.num_samples"):
        fid_only(gauss2d, RawFeatures(gauss2d), num_samples=1)
    with pytest.raises(ValueError, match="unknown split"):
        fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10, reference_split="val")


def test_sampler_must_return_n(gauss2d: Data) -> None:
    fid = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10)
    with pytest.raises(ValueError, match="returned 3 samples"):
        fid(lambda n: torch.zeros(3, 2))


def test_warns_once_when_n_below_dim(digits16: Data) -> None:
    raw = RawFeatures(digits16)  # d = 256 > n_gen = 50
    fid = fid_only(digits16, raw, num_samples=50, batch_size=20)
    with pytest.warns(RuntimeWarning, match="n < d") as record:
        first = fid(sequential(digits16.train))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = fid(sequential(digits16.train))
    assert len(record) == 1
    assert math.isfinite(first["fid"]) and first["fid"] >= 0 and first["fid"] == second["fid"]


def test_non_finite_samples_give_nan(gauss2d: Data) -> None:
    fid = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=10)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        result = fid(lambda n: torch.full((n, 2), float("nan")))
    assert math.isnan(result["fid"])


# --- the real-vs-real floor --------------------------------------------------------------------


def test_floor_is_the_fid_of_real_samples_and_cached_next_to_the_reference(
        gauss2d: Data, cache_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fid = fid_only(gauss2d, RawFeatures(gauss2d), num_samples=1000, batch_size=300)
    value = floor(fid)
    # 1000 train points (seeded permutation) against the test split's stats.
    idx = torch.randperm(4000, generator=torch.Generator().manual_seed(fid_module.FLOOR_SEED))[:1000]
    sample = gauss2d.train[idx].double()
    test = gauss2d.test.double().numpy()
    expected = frechet_distance(sample.mean(0).numpy(), np.cov(sample.numpy(), rowvar=False),
                                test.mean(0), np.cov(test, rowvar=False))
    assert value == pytest.approx(expected, rel=1e-9) and 0 < value < 0.02
    (path,) = (cache_tmp / "fid_stats").glob("gauss2d-test-raw-floor-*[0-9a-f].json")  # not the sidecars
    sidecar = json.loads(path.with_name(path.name + ".json").read_text())
    assert sidecar["fields"]["sample_split"] == "train" and sidecar["fields"]["sample_n"] == 1000

    def no_compute(self: Reference, x: torch.Tensor) -> None:
        raise AssertionError("the floor should come from the cache")

    with monkeypatch.context() as m:
        m.setattr(Reference, "real_stats", no_compute)
        m.setattr(cache_module, "MEMO", ProcessMemo())
        assert floor(fid_only(gauss2d, RawFeatures(gauss2d), num_samples=1000)) == value  # from disk
    # Another n is another floor (FID's bias depends on n); a train reference samples test.
    floor(fid_only(gauss2d, RawFeatures(gauss2d), num_samples=500))
    assert len(list((cache_tmp / "fid_stats").glob("*-floor-*[0-9a-f].json"))) == 2
    assert fid_module.floor_split("train") == "test"


def test_floor_is_nan_without_another_split() -> None:
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    data = Data(name="lonely", train=x[:1], test=x)
    assert math.isnan(floor(fid_only(data, RawFeatures(data), num_samples=20)))
