"""Kernel Inception-style Distance (Bińkowski et al. 2018) on any features, as torch-fidelity does it.

KID = mean over random subsets of the unbiased MMD² with the cubic polynomial kernel
k(x, y) = (γ xᵀy + c)^p, γ = 1/d, c = 1, p = 3. Unlike FID it has an unbiased estimator, so
its value does not depend on the sample size (only its variance does), and it can be < 0.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["kid", "mmd2_unbiased", "polynomial_kernel"]


Array = TypeVar("Array", np.ndarray, torch.Tensor)


def _as_float64(x: torch.Tensor | ArrayLike, which: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{which} must be a (n, d) feature matrix, got shape {arr.shape}")
    return arr


def polynomial_kernel(
    x: Array, y: Array, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> Array:
    """K[i, j] = (γ xᵢᵀyⱼ + coef0)^degree, γ = 1/d when None (numpy arrays or torch tensors)."""
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    base = (x @ y.T) * gamma + coef0
    if isinstance(degree, int | np.integer) and degree >= 1:
        # Repeated products: several times faster than a float power on 1000x1000 blocks.
        out = base
        for _ in range(int(degree) - 1):
            out = out * base
        return out
    return base**degree


def mmd2_unbiased(k_xx: Array, k_yy: Array, k_xy: Array) -> float:
    """Unbiased MMD² from kernel blocks of samples x (m) and y (n):

    Σ_{i≠j} k(xᵢ,xⱼ)/(m(m-1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n-1)) - 2 Σ_{i,j} k(xᵢ,yⱼ)/(mn)
    """
    m, n = k_xx.shape[0], k_yy.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD² needs >= 2 samples per set, got {m} and {n}")
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.sum() / (m * n))


def kid(
    feats_gen: torch.Tensor | ArrayLike,
    feats_real: torch.Tensor | ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """(mean, std) of the unbiased polynomial-kernel MMD² over ``subsets`` random subsets.

    Each subset draws m = min(subset_size, n_gen, n_real) rows without replacement from each
    set, generated first, from one ``np.random.RandomState(seed)``, exactly as
    ``torch_fidelity.metric_kid.kid_features_to_metric`` with ``rng_seed=seed`` does; std is
    the population std (ddof=0) over subsets, as there. All arithmetic is float64 (torch-fidelity
    computes in the features' own dtype, so float32 features agree only to float32 rounding).

    ``device``: None computes with numpy on the CPU; a torch device computes the kernels there
    (same subsets; equal to the numpy result up to float64 summation order, ~1e-15 relative).
    """
    x = _as_float64(feats_gen, "feats_gen")
    y = _as_float64(feats_real, "feats_real")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dims differ: generated {x.shape[1]}, real {y.shape[1]}")
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise ValueError(f"KID needs subsets of >= 2 samples, got size {m} "
                         f"(n_gen={x.shape[0]}, n_real={y.shape[0]}, subset_size={subset_size})")
    xa: np.ndarray | torch.Tensor = x
    ya: np.ndarray | torch.Tensor = y
    if device is not None:
        xa, ya = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets, dtype=np.float64)
    for s in range(subsets):
        # The draw order (generated, then real) is torch-fidelity's: same seed, same subsets.
        ix = rng.choice(x.shape[0], m, replace=False)
        iy = rng.choice(y.shape[0], m, replace=False)
        if device is not None:
            ix, iy = torch.from_numpy(ix).to(device), torch.from_numpy(iy).to(device)
        xs, ys = xa[ix], ya[iy]
        mmds[s] = mmd2_unbiased(polynomial_kernel(xs, xs, degree, gamma, coef0),
                                polynomial_kernel(ys, ys, degree, gamma, coef0),
                                polynomial_kernel(xs, ys, degree, gamma, coef0))
    return float(mmds.mean()), float(mmds.std())
