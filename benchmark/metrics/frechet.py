"""Fréchet distance between two Gaussians, the core of FID."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["frechet_distance"]


def _tr_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S1 S2)^{1/2}) = Σᵢ sqrt(λᵢ) of a symmetric PSD matrix similar to S1 S2.

    With a Cholesky factor S1 = L Lᵀ that matrix is Lᵀ S2 L (one factorisation, two products and
    one eigvalsh without eigenvectors): several times faster at d = 2048 than the symmetric
    square root V diag(sqrt(w)) Vᵀ, whose eigenvectors cost most (docs/performance.md). A singular S1 (n < d) has no Cholesky
    factor; then S2's is tried (tr((S1 S2)^{1/2}) = tr((S2 S1)^{1/2})), and if both are singular,
    S1^{1/2} S2 S1^{1/2} with the square root from eigh. In torch: its LAPACK (MKL on x86)
    stays fast when other processes share the cores, where numpy's OpenBLAS slows down badly.
    """
    a, b = torch.from_numpy(sigma1), torch.from_numpy(sigma2)
    m = None
    for p, q in ((a, b), (b, a)):
        chol, info = torch.linalg.cholesky_ex(p)
        if int(info) == 0:
            m = chol.mT @ q @ chol
            break
    if m is None:
        w, v = torch.linalg.eigh(a)
        # Rounding makes eigenvalues of singular covariances slightly negative; they are 0.
        root = (v * w.clamp(min=0).sqrt()) @ v.mT
        m = root @ b @ root
    m = (m + m.mT) / 2
    return float(torch.linalg.eigvalsh(m).clamp(min=0).sqrt().sum())


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

    tr((S1 S2)^{1/2}) = Σᵢ sqrt(λᵢ(Lᵀ S2 L)) with S1 = L Lᵀ (or S1^{1/2} S2 S1^{1/2} when S1 is
    singular): S1 S2 is similar to that symmetric PSD matrix, so its eigenvalues are real and
    ≥ 0 and, unlike ``scipy.linalg.sqrtm(S1 @ S2)``, this never yields complex parts or NaN for
    singular (rank-deficient, n < d) covariances.
    """
    mu1, sigma1 = _check(mu1, sigma1, "1")
    mu2, sigma2 = _check(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"dimension mismatch: mu1 has shape {mu1.shape}, mu2 has {mu2.shape}")

    tr_covmean = _tr_sqrt_product(sigma1, sigma2)

    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean
    # The exact value is a squared distance (≥ 0); for (near-)identical inputs rounding can
    # leave a ~1e-13 negative residue, which is 0.
    return float(max(d2, 0.0))
