from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.metrics.stats import FeatureStats, RunningStats


def feed(x: np.ndarray, sizes: list[int], as_tensor: bool = False) -> FeatureStats:
    stats = RunningStats(x.shape[1])
    start = 0
    for size in sizes:
        batch = x[start : start + size]
        stats.update(torch.from_numpy(batch) if as_tensor else batch)
        start += size
    assert start == len(x)
    return stats.finalize()


@pytest.mark.parametrize("as_tensor", [False, True])
def test_matches_numpy_with_uneven_batches(as_tensor: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(317, 12)) @ rng.normal(size=(12, 12)) + 3.0
    s = feed(x, [1, 100, 0, 37, 179], as_tensor)
    assert s.n == 317
    np.testing.assert_allclose(s.mu, x.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(s.sigma, np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
    assert s.mu.dtype == np.float64 and s.sigma.dtype == np.float64


def test_large_offset_keeps_precision() -> None:
    # Naive Σxxᵀ - n·μμᵀ would lose ~12 digits here; the shifted sums must not.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 4)) + 1e6
    s = feed(x, [300, 700])
    np.testing.assert_allclose(s.sigma, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-10)


def test_float32_tensor_input() -> None:
    x = torch.randn(50, 3)
    s = feed(x.numpy(), [50], as_tensor=True)
    np.testing.assert_allclose(s.mu, x.double().mean(0).numpy(), rtol=1e-10, atol=1e-14)


def test_needs_two_samples_and_right_shape() -> None:
    stats = RunningStats(3)
    with pytest.raises(ValueError, match="at least 2"):
        stats.finalize()
    stats.update(np.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        stats.finalize()
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        stats.update(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        stats.update(np.ones(3))


def test_save_load_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    s = feed(rng.normal(size=(20, 5)), [20])
    path = tmp_path / "stats.tmp"  # no .npz suffix: must be written exactly there
    s.save(path)
    assert path.exists()
    loaded = FeatureStats.load(path)
    assert loaded.n == 20
    np.testing.assert_array_equal(loaded.mu, s.mu)
    np.testing.assert_array_equal(loaded.sigma, s.sigma)


def test_load_rejects_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    with open(path, "wb") as f:
        np.savez(f, mu=np.zeros(3), sigma=np.zeros((2, 2)), n=np.int64(5))
    with pytest.raises(ValueError, match="malformed"):
        FeatureStats.load(path)
