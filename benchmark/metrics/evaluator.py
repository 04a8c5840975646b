"""Every evaluation metric of a run from one draw of generated samples and one feature pass.

``Evaluator`` is a drop-in replacement for :class:`~benchmark.metrics.fid.FID` in the training
loop: the same constructor arguments plus ``metrics`` (and per-metric ``options``), the same
``reference()`` before training, and ``__call__(sample)`` returning the requested values with
FID's protocol fields. Metrics that invert the generator (triangles' recall) also need
``__call__(sample, model)`` with the generator as a function of its latent (:class:`LatentModel`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.data.base import Data, to_model_space
from benchmark.data.triangles import TrianglesData
from benchmark.metrics import cache
from benchmark.metrics.cache import cache_dir, cache_key
from benchmark.metrics.features import FeatureExtractor
from benchmark.metrics.fid import FID
from benchmark.metrics.fid_inf import fid_infinity
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.kid import kid
from benchmark.metrics.modes import mode_metrics
from benchmark.metrics.precision_recall import precision_recall
from benchmark.metrics.stats import FeatureStats, RunningStats
from benchmark.metrics.triangles import TriangleSettings, triangle_scores

__all__ = ["METRICS", "Evaluator", "Generated", "LatentModel", "Metric"]

log = logging.getLogger(__name__)


# Fixed protocol settings: part of what a KID/PR number means, so not per-run knobs.
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_SEED = 0
PR_K = 3
MODES_N_STD = 3.0


@dataclass(frozen=True, eq=False)
class Generated:
    """One draw of generated samples: raw samples (kept only when a metric needs them), their
    features (n, d) float32 on the extractor's device, their running stats, and whether every
    feature is finite."""

    samples: Tensor | None
    feats: Tensor | None
    stats: FeatureStats | None
    finite: bool


@dataclass(frozen=True)
class LatentModel:
    """The generator as a function of its latent, for metrics that invert it."""

    generator: Callable[[Tensor], Tensor]  # z (n, z_dim) -> samples in model space
    z_dim: int
    latent: str = "uniform"                # the prior: uniform (z in [-1, 1]) | normal


@dataclass(frozen=True)
class Metric:
    """A registry entry: the keys it returns and what it needs from the evaluation."""

    keys: tuple[str, ...]
    compute: Callable[[Evaluator, Generated], dict[str, float | int]]
    uses_features: bool = True        # NaN for every key when generated features are non-finite
    uses_real_features: bool = False  # the reference split's features (cached on disk)
    uses_reference_stats: bool = False
    uses_samples: bool = False
    needs_modes: bool = False
    needs_triangles: bool = False     # the triangles data set (hold-out split, geometry)
    needs_model: bool = False         # the generator itself (LatentModel), not only samples
    # Protocol fields recorded with the scores (thresholds, budgets, the FID floor).
    protocol: Callable[[Evaluator], dict[str, Any]] | None = None


def _fid(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    ref = ev.fid.reference()
    assert gen.stats is not None
    d = ev.extractor.dim
    if min(gen.stats.n, ref.n) < d and not ev._warned_n_lt_d:
        ev._warned_n_lt_d = True
        warnings.warn(
            f"FID estimate unreliable: n < d (n_gen={gen.stats.n}, n_real={ref.n}, "
            f"{ev.extractor.name} feature dim d={d}); covariances are singular",
            RuntimeWarning, stacklevel=3,
        )
    return {"fid": frechet_distance(gen.stats.mu, gen.stats.sigma, ref.mu, ref.sigma)}


def _kid(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    # Kernels on the accelerator when there is one; on a CPU, numpy's path is the faster.
    device = None if ev.device.type == "cpu" else ev.device
    mean, std = kid(gen.feats, ev.real_features(), subsets=KID_SUBSETS,
                    subset_size=KID_SUBSET_SIZE, seed=KID_SEED, device=device)
    return {"kid_mean": mean, "kid_std": std}


def _pr(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    assert gen.feats is not None
    # On the evaluation device: its four (n x n) distance passes are the costliest part.
    return precision_recall(torch.from_numpy(ev.real_features()), gen.feats, k=PR_K,
                            device=ev.device)


def _modes(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    assert gen.samples is not None and ev.data.modes is not None and ev.data.mode_std is not None
    return mode_metrics(gen.samples, ev.data.modes, ev.data.mode_std, n_std=MODES_N_STD)


def _fid_inf(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    assert gen.feats is not None
    ref = ev.fid.reference()
    return {"fid_inf": fid_infinity(gen.feats, ref.mu, ref.sigma).value}


def _triangles(ev: Evaluator, gen: Generated) -> dict[str, float | int]:
    data, model = ev.data, ev._model
    assert gen.samples is not None and model is not None
    assert isinstance(data, TrianglesData) and data.holdout is not None
    return triangle_scores(gen.samples[:, 0], data.holdout, data.geometry, model.generator,
                           model.z_dim, model.latent, ev.triangle_settings, device=ev.device)


def _triangles_protocol(ev: Evaluator) -> dict[str, Any]:
    s = ev.triangle_settings
    holdout = getattr(ev.data, "holdout", None)
    n_holdout = 0 if holdout is None else int(holdout.shape[0])
    return {**s.protocol(), "triangles_n_precision": min(s.n_precision, ev.num_samples),
            "triangles_n_recall": min(s.n_recall, n_holdout)}


METRICS: dict[str, Metric] = {
    "fid": Metric(("fid",), _fid, uses_reference_stats=True,
                  protocol=lambda ev: {"fid_floor": ev.fid.floor()}),
    "kid": Metric(("kid_mean", "kid_std"), _kid, uses_real_features=True),
    "pr": Metric(("precision", "recall"), _pr, uses_real_features=True),
    "modes": Metric(("modes_covered", "high_quality"), _modes, uses_features=False,
                    uses_samples=True, needs_modes=True),
    "fid_inf": Metric(("fid_inf",), _fid_inf, uses_reference_stats=True),
    # Not feature-based: non-finite samples are imprecise samples, not NaN scores.
    "triangles": Metric(("precision", "recall", "f1"), _triangles, uses_features=False,
                        uses_samples=True, needs_triangles=True, needs_model=True,
                        protocol=_triangles_protocol),
}


def _save_features(feats: np.ndarray, path: Path) -> None:
    # A file object: np.save appends ".npy" to names lacking it (the cache's temp files).
    with open(path, "wb") as f:
        np.save(f, feats, allow_pickle=False)


class Evaluator:
    """The requested ``metrics`` of ``num_samples`` generated samples against ``reference_split``.

    Registry (``METRICS``): "fid" → fid (FID's cached reference stats, Fréchet distance;
    protocol fid_floor); "kid" → kid_mean, kid_std (100 subsets of 1000, cubic kernel, seed 0);
    "pr" → precision, recall (k=3 NN balls); "modes" → modes_covered, high_quality (toys: 3-std
    rule on the raw samples); "fid_inf" → fid_inf (FID extrapolated to n → ∞); "triangles" →
    precision, recall, f1 against the known triangle manifold (needs the generator: pass a
    :class:`LatentModel`). Samples are drawn once and features extracted once per call,
    whatever the metrics. ``options``: per-metric settings by metric name, e.g.
    ``{"triangles": {"n_recall": 32}}`` (:class:`~benchmark.metrics.triangles.TriangleSettings`).
    """

    def __init__(
        self,
        data: Data,
        extractor: FeatureExtractor,
        metrics: Sequence[str],
        num_samples: int,
        reference_split: str = "test",
        batch_size: int = 500,
        device: str | torch.device = "cpu",
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if isinstance(metrics, str):
            metrics = [metrics]  # eval.metrics=fid on the command line is a plain string
        names = list(dict.fromkeys(str(m) for m in metrics))  # de-duplicated, order kept
        if not names:
            raise ValueError(f"eval.metrics is empty; choose from {sorted(METRICS)}")
        unknown = [m for m in names if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown eval.metrics {unknown}; valid metrics are {sorted(METRICS)}")
        needs_modes = [m for m in names if METRICS[m].needs_modes]
        if needs_modes and (data.modes is None or data.mode_std is None):
            raise ValueError(f"eval.metrics={needs_modes} needs a toy dataset with modes "
                             f"(ring8, grid25); {data.name} has none")
        needs_triangles = [m for m in names if METRICS[m].needs_triangles]
        if needs_triangles and not (isinstance(data, TrianglesData) and data.holdout is not None):
            raise ValueError(f"eval.metrics={needs_triangles} needs the triangles data set "
                             f"(dataset=triangles); {data.name} is not it")
        # Two metrics writing one key (e.g. pr and triangles both report precision) would
        # silently overwrite each other.
        owner: dict[str, str] = {}
        for m in names:
            for key in METRICS[m].keys:
                if key in owner:
                    raise ValueError(f"eval.metrics {owner[key]} and {m} both report {key!r}; "
                                     "request one of them")
                owner[key] = m
        options = dict(options or {})
        unknown_opts = sorted(set(options) - set(METRICS))
        if unknown_opts:
            raise ValueError(f"eval.options for unknown metrics {unknown_opts}; valid metrics "
                             f"are {sorted(METRICS)}")
        self.triangle_settings = TriangleSettings.from_options(options.get("triangles"))
        # FID validates num_samples, batch_size and the split, and owns the reference stats.
        self.fid = FID(data, extractor, num_samples=num_samples, reference_split=reference_split,
                       batch_size=batch_size, device=device)
        self.metrics = tuple(names)
        self.specs = [METRICS[m] for m in names]
        self.data = data
        self.extractor = self.fid.extractor
        self.extractor_id = self.fid.extractor_id
        self.num_samples = self.fid.num_samples
        self.reference_split = reference_split
        self.batch_size = self.fid.batch_size
        self.device = self.fid.device
        self.n_real = int(data.split(reference_split).shape[0])
        self._real: np.ndarray | None = None
        self._warned_n_lt_d = False
        self._model: LatentModel | None = None

    # --- reference side ------------------------------------------------------------------------

    def reference(self) -> None:
        """Compute (or load from the cache) everything on the reference side the metrics need:
        FID's reference stats, the reference split's features. Call it before training."""
        if any(s.uses_reference_stats for s in self.specs):
            self.fid.reference()
        if "fid" in self.metrics:
            self.fid.floor()
        if any(s.uses_real_features for s in self.specs):
            self.real_features()

    def _features_fields(self) -> dict[str, Any]:
        # FID's reference-stats fields with another kind: the same inputs define both files.
        return {**self.fid._reference_fields(), "kind": "reference_features"}

    def _compute_real_features(self) -> np.ndarray:
        x = self.data.split(self.reference_split)
        feats = [self.extractor(to_model_space(x[i : i + self.batch_size].to(self.device))).cpu()
                 for i in range(0, x.shape[0], self.batch_size)]
        return torch.cat(feats).numpy().astype(np.float32, copy=False)

    def _load_features(self, path: Path) -> np.ndarray:
        feats = np.load(path, allow_pickle=False)
        if feats.shape != (self.n_real, self.extractor.dim) or feats.dtype != np.float32:
            raise ValueError(f"{path}: features of shape {feats.shape} ({feats.dtype}), expected "
                             f"({self.n_real}, {self.extractor.dim}) float32")
        return feats

    def real_features(self) -> np.ndarray:
        """(n_real, d) float32 features of the reference split; cached on disk, memoised (shared
        by every Evaluator of the process: treat as read-only)."""
        if self._real is not None:
            return self._real
        fields = self._features_fields()
        name = (f"{self.data.name}-{self.reference_split}-{self.extractor.name}-"
                f"{cache_key(fields)}.npy")
        path = cache_dir() / "fid_features" / name
        feats = cache.MEMO.get(path, self._compute_real_features, _save_features,
                               self._load_features, fields=fields)
        self._real = feats
        return feats

    # --- generated side ------------------------------------------------------------------------

    def generate(self, sample: Callable[[int], Tensor]) -> Generated:
        """Draw ``num_samples`` as ``sample(n)`` in batches of ``batch_size``; extract features
        once, keeping them and their running stats (batched as FID does, so the FID is the same)."""
        keep_samples = any(s.uses_samples for s in self.specs)
        need_feats = any(s.uses_features for s in self.specs)
        samples: list[Tensor] = []
        feats: list[Tensor] = []
        stats = RunningStats(self.extractor.dim)
        remaining = self.num_samples
        with torch.inference_mode():
            while remaining > 0:
                n = min(self.batch_size, remaining)
                x = sample(n)
                if x.shape[0] != n:
                    raise ValueError(f"sample({n}) returned {x.shape[0]} samples")
                if keep_samples:
                    samples.append(x.detach().to("cpu", torch.float32))
                if need_feats:
                    f = self.extractor(x)
                    stats.update(f)
                    feats.append(f)
                remaining -= n
        if not need_feats:
            return Generated(torch.cat(samples), None, None, True)
        all_feats = torch.cat(feats)
        return Generated(
            samples=torch.cat(samples) if keep_samples else None,
            feats=all_feats,
            stats=stats.finalize(),
            finite=bool(torch.isfinite(all_feats).all()),
        )

    def __call__(self, sample: Callable[[int], Tensor],
                 model: LatentModel | None = None) -> dict[str, Any]:
        """The requested metrics of ``sample`` (n ↦ n generated samples in model space).

        Returns the metrics' keys (in the order of ``metrics``) then the protocol: "extractor",
        "extractor_id", "extractor_weights", "n_gen", "n_real", "reference_split" (as FID
        does), then each metric's own protocol fields (fid_floor, triangles_delta, ...).
        Feature metrics are NaN (with a warning) if the samples gave non-finite features: a
        diverged generator is a result to record, not a crash. ``model``: the generator behind
        ``sample``, required by metrics that invert it (triangles).
        """
        needs_model = [m for m in self.metrics if METRICS[m].needs_model]
        if needs_model and model is None:
            raise ValueError(f"eval.metrics={needs_model} invert the generator: pass it as "
                             "Evaluator(...)(sample, LatentModel(G, z_dim, latent))")
        self.reference()
        gen = self.generate(sample)
        if not gen.finite:
            nan_metrics = [m for m in self.metrics if METRICS[m].uses_features]
            warnings.warn(f"generated samples gave non-finite features; {nan_metrics} are NaN",
                          RuntimeWarning, stacklevel=2)
        scores: dict[str, Any] = {}
        self._model = model  # for this call only: the evaluator must not keep G alive
        try:
            for spec in self.specs:
                if spec.uses_features and not gen.finite:
                    scores.update(dict.fromkeys(spec.keys, math.nan))
                else:
                    scores.update(spec.compute(self, gen))
        finally:
            self._model = None
        return {
            **scores,
            "extractor": self.extractor.name,
            "extractor_id": self.extractor_id,
            "extractor_weights": self.extractor.weights_id(),
            "n_gen": self.num_samples,
            "n_real": self.n_real,
            "reference_split": self.reference_split,
            **{k: v for spec in self.specs if spec.protocol for k, v in spec.protocol(self).items()},
        }
