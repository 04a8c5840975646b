"""The real side of every metric: one split of the data through one feature extractor.

Its feature statistics (FID, FID∞) and its feature matrix (KID, precision/recall) are computed
once per (data, split, extractor) and cached on disk (``$GANBENCH_CACHE/fid_stats``,
``fid_features``) and in the process's memo, so a sweep's runs share them. Artefacts derived
from the reference (FID's real-vs-real floor) are cached next to them through
:meth:`Reference.cached`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from benchmark.data.base import Data, to_model_space
from benchmark.metrics import cache
from benchmark.metrics.cache import cache_dir, cache_key
from benchmark.metrics.features import FeatureExtractor
from benchmark.metrics.stats import FeatureStats, RunningStats

__all__ = ["Reference"]

T = TypeVar("T")


def _save_features(feats: np.ndarray, path: Path) -> None:
    # A file object: np.save appends ".npy" to names lacking it (the cache's temp files).
    with open(path, "wb") as f:
        np.save(f, feats, allow_pickle=False)


class Reference:
    """``split`` of ``data`` as ``extractor`` features, extracted in batches of ``batch_size``
    on the extractor's device."""

    def __init__(self, data: Data, extractor: FeatureExtractor, split: str = "test",
                 batch_size: int = 500) -> None:
        self.data = data
        self.extractor = extractor
        self.split = split
        self.batch_size = int(batch_size)
        self.n = int(data.split(split).shape[0])  # an unknown split name fails here
        self._fields: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        """What defines the reference (the cache key of everything derived from it)."""
        if self._fields is None:  # once: every evaluation asks for it
            self._fields = {
                "kind": "fid_reference",
                "data": self.data.name,
                "data_fingerprint": self.data.fingerprint(),
                "reference_split": self.split,
                "extractor": self.extractor.identity(),
                "n": self.n,
            }
        return dict(self._fields)

    def cached(self, directory: str, tag: str, suffix: str, fields: Mapping[str, Any],
               compute: Callable[[], T], save: Callable[[T, Path], None],
               load: Callable[[Path], T]) -> T:
        """``compute()`` once per ``fields`` (disk cache + process memo), as
        ``<cache>/<directory>/<data>-<split>-<extractor>-<tag>-<key><suffix>``."""
        name = "-".join([self.data.name, self.split, self.extractor.name, *([tag] if tag else []),
                         cache_key(fields)])
        path = cache_dir() / directory / f"{name}{suffix}"
        return cache.MEMO.get(path, compute, save, load, fields=fields)

    def real_stats(self, x: Tensor) -> FeatureStats:
        """Feature stats of real samples ``x`` (uint8 images or float points)."""
        stats = RunningStats(self.extractor.dim)
        for batch in x.split(self.batch_size):
            stats.update(self.extractor(to_model_space(batch)))
        return stats.finalize()

    def stats(self) -> FeatureStats:
        """Feature stats of the whole split."""
        stats = self.cached("fid_stats", "", ".npz", self.fields(),
                            lambda: self.real_stats(self.data.split(self.split)),
                            FeatureStats.save, FeatureStats.load)
        if stats.dim != self.extractor.dim:
            raise ValueError(f"reference stats of {self.data.name} have dim {stats.dim}, "
                             f"the {self.extractor.name} extractor {self.extractor.dim}")
        return stats

    def features(self) -> np.ndarray:
        """(n, d) float32 features of the whole split (shared by every caller of the process:
        treat as read-only)."""
        x = self.data.split(self.split)

        def compute() -> np.ndarray:
            feats = [self.extractor(to_model_space(b)).cpu() for b in x.split(self.batch_size)]
            return torch.cat(feats).numpy().astype(np.float32, copy=False)

        def load(path: Path) -> np.ndarray:
            feats = np.load(path, allow_pickle=False)
            if feats.shape != (self.n, self.extractor.dim) or feats.dtype != np.float32:
                raise ValueError(f"{path}: features of shape {feats.shape} ({feats.dtype}), "
                                 f"expected ({self.n}, {self.extractor.dim}) float32")
            return feats

        # The stats' fields with another kind: the same inputs define both files.
        fields = {**self.fields(), "kind": "reference_features"}
        return self.cached("fid_features", "", ".npy", fields, compute, _save_features, load)
