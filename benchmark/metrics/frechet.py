"""Fréchet distance between two Gaussians, the core of FID."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["frechet_distance"]


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix: V diag(sqrt(max(w, 0))) Vᵀ."""
    w, v = np.linalg.eigh(sigma)
    # Rounding makes eigenvalues of singular covariances slightly negative; they are 0.
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _check(mu: ArrayLike, sigma: ArrayLike, which: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu{which} must be a vector (d,), got shape {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise ValueError(f"sigma{which} must have shape ({d}, {d}) to match mu{which}, got {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"mu{which}/sigma{which} contain NaN or inf")
    # Covariances from BLAS products can be asymmetric in the last bits; eigh reads one triangle.
    return mu, (sigma + sigma.T) / 2


def frechet_distance(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike
) -> float:
    """Fréchet (2-Wasserstein²) distance between N(mu1, S1) and N(mu2, S2), in float64.

    d² = ||mu1 - mu2||² + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})

    tr((S1 S2)^{1/2}) = Σᵢ sqrt(λᵢ(S1^{1/2} S2 S1^{1/2})): S1 S2 is similar to the symmetric
    PSD matrix S1^{1/2} S2 S1^{1/2}, so its eigenvalues are real and ≥ 0 and, unlike
    ``scipy.linalg.sqrtm(S1 @ S2)``, this never yields complex parts or NaN for singular
    (rank-deficient, n < d) covariances.
    """
    mu1, sigma1 = _check(mu1, sigma1, "1")
    mu2, sigma2 = _check(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"dimension mismatch: mu1 has shape {mu1.shape}, mu2 has {mu2.shape}")

    sqrt1 = _sqrt_psd(sigma1)
    m = sqrt1 @ sigma2 @ sqrt1
    m = (m + m.T) / 2
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(m), 0.0, None)).sum()

    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean
    # The exact value is a squared distance (≥ 0); for (near-)identical inputs rounding can
    # leave a ~1e-13 negative residue, which is 0.
    return float(max(d2, 0.0))
