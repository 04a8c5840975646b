"""Fréchet Inception-style Distance with a pluggable feature extractor."""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.data.base import Data, to_model_space
from benchmark.metrics import cache
from benchmark.metrics.cache import cache_dir, cache_key
from benchmark.metrics.features import FeatureExtractor
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.stats import FeatureStats, RunningStats

__all__ = ["FID"]

log = logging.getLogger(__name__)


# The real-vs-real floor samples the other split with this seed (a fixed part of the protocol).
FLOOR_SEED = 0


def _save_floor(value: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(value, sort_keys=True) + "\n")


def _load_floor(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text())
    if not isinstance(value, dict) or not isinstance(value.get("fid_floor"), float):
        raise ValueError(f"{path}: not a FID floor record")
    return value


class FID:
    """FID of generated samples against a reference split's statistics (the study: 10k generated
    vs the 10k test images).

    FID = ||mu_g - mu_r||² + tr(S_g) + tr(S_r) - 2 tr((S_g S_r)^{1/2}), with (mu, S) the mean and
    covariance of ``extractor`` features of generated (g) and reference (r) samples.

    The real-vs-real floor (:meth:`floor`): the FID of ``num_samples`` real samples of the other
    split against the same reference, what a generator that matched the data would score at
    this sample size; cached next to the reference stats.
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
        stats = cache.MEMO.get(path, self._compute_reference, FeatureStats.save,
                               FeatureStats.load, fields=fields)
        if stats.dim != self.extractor.dim:
            raise ValueError(f"{path}: reference stats have dim {stats.dim}, extractor {self.extractor.dim}")
        self._reference = stats
        return stats

    def floor_split(self) -> str:
        """The split the floor samples: the one that is not the reference."""
        return "train" if self.reference_split == "test" else "test"

    def _floor_fields(self) -> dict[str, Any]:
        n = min(self.num_samples, int(self.data.split(self.floor_split()).shape[0]))
        return {**self._reference_fields(), "kind": "fid_floor", "sample_split": self.floor_split(),
                "sample_n": n, "sample_seed": FLOOR_SEED}

    def _compute_floor(self) -> dict[str, Any]:
        x = self.data.split(self.floor_split())
        n = min(self.num_samples, int(x.shape[0]))
        if n < 2:  # nothing to compare: no floor, rather than a failed run
            return {"fid_floor": math.nan, "n": n, "split": self.floor_split()}
        g = torch.Generator().manual_seed(FLOOR_SEED)
        idx = torch.randperm(int(x.shape[0]), generator=g)[:n].to(x.device)
        stats = RunningStats(self.extractor.dim)
        for i in range(0, n, self.batch_size):
            stats.update(self.extractor(to_model_space(x[idx[i : i + self.batch_size]].to(self.device))))
        s, ref = stats.finalize(), self.reference()
        return {"fid_floor": frechet_distance(s.mu, s.sigma, ref.mu, ref.sigma), "n": n,
                "split": self.floor_split()}

    def floor(self) -> float:
        """FID(``num_samples`` samples of the other split, reference split): the real-vs-real
        floor at this sample size (NaN when the other split has fewer than 2 samples).
        Computed once per (data, extractor, split, n) and cached as JSON next to the reference
        stats; memoised in memory."""
        fields = self._floor_fields()
        name = (f"{self.data.name}-{self.reference_split}-{self.extractor.name}-floor-"
                f"{cache_key(fields)}.json")
        path = cache_dir() / "fid_stats" / name
        record = cache.MEMO.get(path, self._compute_floor, _save_floor, _load_floor,
                                fields=fields)
        return float(record["fid_floor"])

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

        Returns {"fid", "extractor", "extractor_id", "extractor_weights", "n_gen", "n_real",
        "reference_split", "fid_floor"}; "fid" is NaN (with a warning) if the samples gave
        non-finite features.
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
            "extractor_weights": self.extractor.weights_id(),
            "n_gen": gen.n,
            "n_real": ref.n,
            "reference_split": self.reference_split,
            "fid_floor": self.floor(),
        }
