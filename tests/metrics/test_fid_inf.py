"""FID∞: FID on subsets of several sizes n, fitted against 1/n and extrapolated to 1/n → 0."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.metrics.fid_inf import fid_infinity
from benchmark.metrics.frechet import frechet_distance


def test_extrapolation_is_closer_to_the_large_n_fid_than_the_small_n_fid() -> None:
    # Two zero-mean Gaussians in 64-d whose covariances differ by a factor 1.2, reference
    # statistics exact: the only bias is the generated side's finite n, and at n = 1,000 it is
    # most of the FID.
    d = 64
    rng = np.random.default_rng(0)
    a = rng.normal(size=(d, d)) / np.sqrt(d)
    sigma_g = a @ a.T + 0.5 * np.eye(d)
    mu, sigma_r = np.zeros(d), 1.2 * sigma_g
    small = rng.multivariate_normal(mu, sigma_g, size=1_000)
    large = rng.multivariate_normal(mu, sigma_g, size=50_000)

    def fid(x: np.ndarray) -> float:
        return frechet_distance(x.mean(0), np.cov(x, rowvar=False), mu, sigma_r)

    fid_small, fid_large = fid(small), fid(large)
    truth = frechet_distance(mu, sigma_g, mu, sigma_r)
    assert fid_small > 2 * truth and abs(fid_large - truth) < 0.1 * truth  # biased upwards

    result = fid_infinity(small, mu, sigma_r)
    # Over 8 seeds the extrapolation's error was at most 0.21 of the small-n FID's.
    assert abs(result.value - fid_large) < 0.5 * abs(fid_small - fid_large)
    assert result.slope > 0  # the bias term k/n is positive
    assert result.ns[0] == 200 and result.ns[-1] == 1_000 and len(result.ns) == 15
    assert result.fids[0] > result.fids[-1]  # FID falls as the subsets grow


def test_value_is_the_intercept_of_the_reported_points() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 3))
    res = fid_infinity(x, np.ones(3), np.eye(3), num_points=6, min_fraction=0.5, seed=3)
    assert res.ns == (150, 180, 210, 240, 270, 300)
    slope, intercept = np.polyfit(1 / np.array(res.ns), np.array(res.fids), 1)
    assert res.value == pytest.approx(intercept, rel=1e-12) and res.slope == pytest.approx(slope)
    # The largest subset is all of x: its FID is the plain FID.
    assert res.fids[-1] == pytest.approx(
        frechet_distance(x.mean(0), np.cov(x, rowvar=False), np.ones(3), np.eye(3)), rel=1e-12)
    assert fid_infinity(x, np.ones(3), np.eye(3), seed=3) == fid_infinity(x, np.ones(3), np.eye(3), seed=3)


def test_validation() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="num_points"):
        fid_infinity(x, np.zeros(2), np.eye(2), num_points=1)
    with pytest.raises(ValueError, match="min_fraction"):
        fid_infinity(x, np.zeros(2), np.eye(2), min_fraction=1.5)
    with pytest.raises(ValueError, match="too few"):
        fid_infinity(np.zeros((2, 2)), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        fid_infinity(np.full((10, 2), np.nan), np.zeros(2), np.eye(2))
