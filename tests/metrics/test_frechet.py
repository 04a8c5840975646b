from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from benchmark.metrics.frechet import frechet_distance


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, 2 * d))
    return a @ a.T / (2 * d) + 1e-3 * np.eye(d)


def reference_fid(mu1, s1, mu2, s2) -> float:
    """The textbook formula with scipy's general matrix square root (independent check)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


@pytest.mark.parametrize("d", [2, 16, 64])
def test_matches_sqrtm(d: int) -> None:
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference_fid(mu1, s1, mu2, s2), rel=1e-9)


def test_univariate_closed_form() -> None:
    # 1-D: (m1 - m2)² + (s1 - s2)² with standard deviations s.
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0, rel=1e-12)


@pytest.mark.parametrize("d", [2, 16, 64])
def test_zero_for_identical(d: int) -> None:
    rng = np.random.default_rng(1)
    mu, s = rng.normal(size=d), random_spd(rng, d)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-8 * np.trace(s)


def test_symmetric() -> None:
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    s1, s2 = random_spd(rng, 16), random_spd(rng, 16)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_singular_covariances_give_finite_real() -> None:
    rng = np.random.default_rng(3)
    d = 32
    x, y = rng.normal(size=(10, d)), rng.normal(size=(5, d)) + 1.0  # n < d: rank-deficient
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    assert np.linalg.matrix_rank(s1) < d
    value = frechet_distance(x.mean(0), s1, y.mean(0), s2)
    assert isinstance(value, float) and np.isfinite(value) and value >= 0
    # Zero covariances and identical singular ones are fine too.
    zero = np.zeros((d, d))
    assert frechet_distance(np.zeros(d), zero, np.ones(d), zero) == pytest.approx(d)
    assert frechet_distance(x.mean(0), s1, x.mean(0), s1) < 1e-8 * np.trace(s1)


@pytest.mark.parametrize(
    ("mu1", "s1", "mu2", "s2", "match"),
    [
        (np.zeros((2, 1)), np.eye(2), np.zeros(2), np.eye(2), "mu1 must be a vector"),
        (np.zeros(2), np.eye(3), np.zeros(2), np.eye(2), "sigma1 must have shape"),
        (np.zeros(2), np.eye(2), np.zeros(3), np.eye(3), "dimension mismatch"),
        (np.zeros(2), np.eye(2), np.zeros(2), np.full((2, 2), np.nan), "NaN"),
    ],
)
def test_validation(mu1, s1, mu2, s2, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        frechet_distance(mu1, s1, mu2, s2)


def _commuting(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """S1 = Q diag(a) Qᵀ, S2 = Q diag(b) Qᵀ and their exact tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})."""
    q, _ = np.linalg.qr(rng.normal(size=(len(a), len(a))))
    return (q * a) @ q.T, (q * b) @ q.T, float(a.sum() + b.sum() - 2 * np.sqrt(a * b).sum())


@pytest.mark.parametrize("singular", ["none", "first", "both"])
def test_exact_value_on_each_path(singular: str) -> None:
    # Cholesky of S1 (both positive definite), of S2 (S1 singular), or eigh (both singular).
    from unittest import mock

    import torch

    rng = np.random.default_rng(7)
    d = 48
    a, b = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)
    if singular in ("first", "both"):
        a[: d // 3] = 0.0
    if singular == "both":
        b[-d // 3 :] = 0.0
    s1, s2, exact = _commuting(rng, a, b)
    zero = np.zeros(d)
    with mock.patch.object(torch.linalg, "eigh", wraps=torch.linalg.eigh) as eigh:
        value = frechet_distance(zero, s1, zero, s2)
    assert eigh.called == (singular == "both")
    assert value == pytest.approx(exact, rel=1e-12 if singular == "none" else 1e-6)
