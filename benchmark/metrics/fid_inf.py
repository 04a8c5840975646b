"""FID∞ (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them").

FID is biased upwards by a term that shrinks like 1/n in the number n of generated samples, so
FIDs computed with different n are not comparable. FID∞ computes FID_n on random subsets of
``num_points`` sizes n evenly spaced between ``min_fraction``·N and N (the N generated
features), fits FID_n = FID∞ + k/n by least squares, and reports the intercept: the FID
extrapolated to infinitely many generated samples (against the same, finite, reference stats).
Chong & Forsyth use 15 sizes from 5,000 to 50,000, i.e. ``min_fraction`` 0.1 of N = 50k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from benchmark.metrics.frechet import frechet_distance

__all__ = ["FIDInfinity", "fid_infinity"]

NUM_POINTS = 15
MIN_FRACTION = 0.2  # of the generated samples: subsets far below d make covariances singular
SEED = 0


@dataclass(frozen=True)
class FIDInfinity:
    """The extrapolated FID, with the subset sizes, their FIDs and the fitted slope k."""

    value: float
    ns: tuple[int, ...]
    fids: tuple[float, ...]
    slope: float


def fid_infinity(
    feats: torch.Tensor | ArrayLike,
    mu_ref: ArrayLike,
    sigma_ref: ArrayLike,
    num_points: int = NUM_POINTS,
    min_fraction: float = MIN_FRACTION,
    seed: int = SEED,
) -> FIDInfinity:
    """FID∞ of generated features ``feats`` (N, d) against reference stats (mu, sigma)."""
    if isinstance(feats, torch.Tensor):
        feats = feats.detach().cpu().double().numpy()
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"feats must be (N, d), got shape {x.shape}")
    n_all = x.shape[0]
    if num_points < 2:
        raise ValueError(f"num_points must be >= 2 for a line fit, got {num_points}")
    if not 0 < min_fraction < 1:
        raise ValueError(f"min_fraction must be in (0, 1), got {min_fraction}")
    ns = np.unique(np.linspace(max(2, int(np.ceil(min_fraction * n_all))), n_all, num_points)
                   .round().astype(int))
    if len(ns) < 2:
        raise ValueError(f"FID-infinity needs at least 2 distinct subset sizes; N={n_all} is too few")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    rng = np.random.default_rng(seed)
    fids = []
    for n in ns:
        sub = x[rng.choice(n_all, size=n, replace=False)]
        fids.append(frechet_distance(sub.mean(axis=0), np.cov(sub, rowvar=False).reshape(x.shape[1], -1),
                                     mu_ref, sigma_ref))
    slope, intercept = np.polyfit(1.0 / ns, np.asarray(fids), 1)
    return FIDInfinity(value=float(intercept), ns=tuple(int(n) for n in ns),
                       fids=tuple(float(f) for f in fids), slope=float(slope))
