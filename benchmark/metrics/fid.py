"""Fréchet Inception-style Distance with a pluggable feature extractor."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.data.base import Data, to_model_space
from benchmark.metrics.cache import cache_dir, cache_key, compute_once
from benchmark.metrics.features import FeatureExtractor
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.stats import FeatureStats, RunningStats

__all__ = ["FID"]

log = logging.getLogger(__name__)

# Reference stats by cache path, shared by every FID object of the process (e.g. several runs
# in one job); the path embeds the cache dir and the full key, so entries cannot collide.
_MEMO: dict[str, FeatureStats] = {}
_MEMO_LOCK = threading.Lock()


class FID:
    """FID of generated samples against a reference split's statistics (the study: 10k generated
    vs the 10k test images).

    FID = ||mu_g - mu_r||² + tr(S_g) + tr(S_r) - 2 tr((S_g S_r)^{1/2}), with (mu, S) the mean and
    covariance of ``extractor`` features of generated (g) and reference (r) samples.
    """

    def __init__(
        self,
        data: Data,
        extractor: FeatureExtractor,
        num_samples: int,
        reference_split: str = "test",
        batch_size: int = 500,
        device: str | torch.device = "cpu",
    ) -> None:
        if num_samples < 2:
            raise ValueError(f"eval.num_samples must be >= 2 for a covariance, got {num_samples}")
        if batch_size < 1:
            raise ValueError(f"eval.batch_size must be >= 1, got {batch_size}")
        data.split(reference_split)  # fail fast on an unknown split name
        self.data = data
        self.extractor = extractor.to(device)
        self.num_samples = int(num_samples)
        self.reference_split = reference_split
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.extractor_id = extractor.short_id()
        self._reference: FeatureStats | None = None
        self._warned = False

    def _reference_fields(self) -> dict[str, Any]:
        return {
            "kind": "fid_reference",
            "data": self.data.name,
            "data_fingerprint": self.data.fingerprint(),
            "reference_split": self.reference_split,
            "extractor": self.extractor.identity(),
            "n": int(self.data.split(self.reference_split).shape[0]),
        }

    def _compute_reference(self) -> FeatureStats:
        x = self.data.split(self.reference_split)
        stats = RunningStats(self.extractor.dim)
        for i in range(0, x.shape[0], self.batch_size):
            batch = to_model_space(x[i : i + self.batch_size].to(self.device))
            stats.update(self.extractor(batch))
        return stats.finalize()

    def reference(self) -> FeatureStats:
        """Feature stats of the whole reference split; cached on disk and memoised in memory."""
        if self._reference is not None:
            return self._reference
        fields = self._reference_fields()
        key = cache_key(fields)
        name = f"{self.data.name}-{self.reference_split}-{self.extractor.name}-{key}.npz"
        path = cache_dir() / "fid_stats" / name
        with _MEMO_LOCK:
            stats = _MEMO.get(str(path))
        if stats is None:
            stats = compute_once(path, self._compute_reference, FeatureStats.save,
                                 FeatureStats.load, fields=fields)
            with _MEMO_LOCK:
                _MEMO[str(path)] = stats
        if stats.dim != self.extractor.dim:
            raise ValueError(f"{path}: reference stats have dim {stats.dim}, extractor {self.extractor.dim}")
        self._reference = stats
        return stats

    def generated_stats(self, sample: Callable[[int], Tensor]) -> FeatureStats:
        """Feature stats of ``num_samples`` samples drawn as ``sample(n)`` in batches of ``batch_size``."""
        stats = RunningStats(self.extractor.dim)
        remaining = self.num_samples
        with torch.inference_mode():
            while remaining > 0:
                n = min(self.batch_size, remaining)
                x = sample(n)
                if x.shape[0] != n:
                    raise ValueError(f"sample({n}) returned {x.shape[0]} samples")
                stats.update(self.extractor(x))
                remaining -= n
        return stats.finalize()

    def __call__(self, sample: Callable[[int], Tensor]) -> dict[str, Any]:
        """FID of ``sample`` (n ↦ n generated samples in model space) against the reference.

        Returns {"fid", "extractor", "extractor_id", "n_gen", "n_real", "reference_split"};
        "fid" is NaN (with a warning) if the samples gave non-finite features.
        """
        ref = self.reference()
        gen = self.generated_stats(sample)
        d = self.extractor.dim
        if min(gen.n, ref.n) < d and not self._warned:
            self._warned = True
            warnings.warn(
                f"FID estimate unreliable: n < d (n_gen={gen.n}, n_real={ref.n}, "
                f"{self.extractor.name} feature dim d={d}); covariances are singular",
                RuntimeWarning, stacklevel=2,
            )
        if np.isfinite(gen.mu).all() and np.isfinite(gen.sigma).all():
            fid = frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)
        else:
            # A diverged generator (NaN/inf samples) is a result to record, not a crash.
            warnings.warn("generated samples gave non-finite features; FID is NaN",
                          RuntimeWarning, stacklevel=2)
            fid = float("nan")
        return {
            "fid": fid,
            "extractor": self.extractor.name,
            "extractor_id": self.extractor_id,
            "n_gen": gen.n,
            "n_real": ref.n,
            "reference_split": self.reference_split,
        }
