"""Fréchet Inception-style Distance with a pluggable feature extractor, and its real-vs-real floor.

FID = ||mu_g - mu_r||² + tr(S_g) + tr(S_r) - 2 tr((S_g S_r)^{1/2}), with (mu, S) the mean and
covariance of the features of generated (g) and reference (r) samples (the study: 10k generated
vs the 10k test images). The registry entry "fid" (benchmark/metrics/evaluator.py) calls these.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.reference import Reference
from benchmark.metrics.stats import FeatureStats

__all__ = ["FLOOR_SEED", "fid", "floor", "floor_split", "n_below_d"]


# The real-vs-real floor samples the other split with this seed (a fixed part of the protocol).
FLOOR_SEED = 0


def fid(gen: FeatureStats, ref: FeatureStats) -> float:
    """FID of generated feature stats against the reference's; NaN when gen is not finite
    (a diverged generator is a result to record, not a crash)."""
    if not (np.isfinite(gen.mu).all() and np.isfinite(gen.sigma).all()):
        return math.nan
    return frechet_distance(gen.mu, gen.sigma, ref.mu, ref.sigma)


def n_below_d(n_gen: int, n_real: int, extractor: str, d: int) -> str | None:
    """The warning FID deserves when a covariance has fewer samples than dimensions, or None."""
    if min(n_gen, n_real) >= d:
        return None
    return (f"FID estimate unreliable: n < d (n_gen={n_gen}, n_real={n_real}, {extractor} "
            f"feature dim d={d}); covariances are singular")


def floor_split(reference_split: str) -> str:
    """The split the floor samples: the one that is not the reference."""
    return "train" if reference_split == "test" else "test"


def _save_floor(value: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(value, sort_keys=True) + "\n")


def _load_floor(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text())
    if not isinstance(value, dict) or not isinstance(value.get("fid_floor"), float):
        raise ValueError(f"{path}: not a FID floor record")
    return value


def floor(reference: Reference, num_samples: int) -> float:
    """FID(``num_samples`` samples of the other split, the reference): what a generator that
    matched the data would score at this sample size (NaN when the other split has fewer than 2
    samples). Cached as JSON next to the reference stats, per (data, extractor, split, n)."""
    split = floor_split(reference.split)
    x = reference.data.split(split)
    n = min(num_samples, int(x.shape[0]))
    fields = {**reference.fields(), "kind": "fid_floor", "sample_split": split, "sample_n": n,
              "sample_seed": FLOOR_SEED}

    def compute() -> dict[str, Any]:
        if n < 2:  # nothing to compare: no floor, rather than a failed run
            return {"fid_floor": math.nan, "n": n, "split": split}
        g = torch.Generator().manual_seed(FLOOR_SEED)
        idx = torch.randperm(int(x.shape[0]), generator=g)[:n].to(x.device)
        value = fid(reference.real_stats(x[idx]), reference.stats())
        return {"fid_floor": value, "n": n, "split": split}

    record = reference.cached("fid_stats", "floor", ".json", fields, compute, _save_floor,
                              _load_floor)
    return float(record["fid_floor"])
