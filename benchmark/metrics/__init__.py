"""FID and its parts: Fréchet distance, streaming feature stats, feature extractors, disk cache.

Names are imported lazily (PEP 562) so that e.g. ``benchmark.metrics.cache`` or ``frechet``
can be used by analysis code and worker processes without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "frechet_distance": "frechet",
    "FeatureStats": "stats",
    "RunningStats": "stats",
    "cache_dir": "cache",
    "cache_key": "cache",
    "compute_once": "cache",
    "FeatureExtractor": "features",
    "RawFeatures": "features",
    "ClassifierFeatures": "features",
    "FID": "fid",
}

__all__ = [
    "FID",
    "ClassifierFeatures",
    "FeatureExtractor",
    "FeatureStats",
    "RawFeatures",
    "RunningStats",
    "cache_dir",
    "cache_key",
    "compute_once",
    "frechet_distance",
]

if TYPE_CHECKING:
    from benchmark.metrics.cache import cache_dir, cache_key, compute_once
    from benchmark.metrics.features import ClassifierFeatures, FeatureExtractor, RawFeatures
    from benchmark.metrics.fid import FID
    from benchmark.metrics.frechet import frechet_distance
    from benchmark.metrics.stats import FeatureStats, RunningStats


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
