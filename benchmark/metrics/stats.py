"""Streaming mean/covariance of features, and their on-disk form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["FeatureStats", "RunningStats"]


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous
class FeatureStats:
    """Gaussian summary of n feature vectors: mean mu (d,) and unbiased covariance sigma (d, d)."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    def save(self, path: str | Path) -> None:
        """Write ``mu``, ``sigma``, ``n`` as an uncompressed ``.npz`` at exactly ``path``."""
        # A file object, not a name: np.savez appends ".npz" to names lacking it (temp files).
        with open(path, "wb") as f:
            np.savez(f, mu=self.mu, sigma=self.sigma, n=np.int64(self.n))

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read a file written by :meth:`save`; ValueError if it is malformed."""
        with np.load(path, allow_pickle=False) as f:
            mu = np.asarray(f["mu"], dtype=np.float64)
            sigma = np.asarray(f["sigma"], dtype=np.float64)
            n = int(f["n"])
        if mu.ndim != 1 or sigma.shape != (mu.shape[0],) * 2 or n < 2:
            raise ValueError(f"{path}: malformed feature stats (mu {mu.shape}, sigma {sigma.shape}, n {n})")
        return cls(mu=mu, sigma=sigma, n=n)


class RunningStats:
    """Accumulates n, Σ(x-k) and Σ(x-k)(x-k)ᵀ in float64 over batches of d-dim features.

    mu = k + Σ(x-k)/n,  sigma = (Σ(x-k)(x-k)ᵀ - Σ(x-k) Σ(x-k)ᵀ / n) / (n - 1)

    The shift k (the first batch's mean) avoids the catastrophic cancellation of raw
    sums of squares when features have a large mean relative to their spread.
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = dim
        self.n = 0
        self._shift: np.ndarray | None = None
        self._sum = np.zeros(dim, dtype=np.float64)
        self._sum_outer = np.zeros((dim, dim), dtype=np.float64)

    def update(self, feats: torch.Tensor | ArrayLike) -> None:
        """Add a batch of features, shape (B, dim)."""
        if isinstance(feats, torch.Tensor):
            feats = feats.detach().to("cpu", torch.float64).numpy()
        x = np.asarray(feats, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected features of shape (B, {self.dim}), got {x.shape}")
        if x.shape[0] == 0:
            return
        if self._shift is None:
            self._shift = x.mean(axis=0)
        x = x - self._shift
        self.n += x.shape[0]
        self._sum += x.sum(axis=0)
        self._sum_outer += x.T @ x

    def finalize(self) -> FeatureStats:
        """Mean and unbiased (n-1) covariance of everything seen so far; needs n >= 2."""
        if self.n < 2:
            raise ValueError(f"need at least 2 feature vectors for a covariance, got {self.n}")
        assert self._shift is not None
        mean_shifted = self._sum / self.n
        sigma = (self._sum_outer - self.n * np.outer(mean_shifted, mean_shifted)) / (self.n - 1)
        return FeatureStats(mu=self._shift + mean_shifted, sigma=(sigma + sigma.T) / 2, n=self.n)
