"""Every evaluation metric of a run from one draw of generated samples: one registry, one loop.

As StyleGAN3's ``metric_main``: ``METRICS`` maps each name ``eval.metrics`` accepts to an entry
saying which keys it records, what of the draw it reads, what it needs of the data, and its
protocol fields; the computations live in their own modules (fid.py, kid.py, ...).
:class:`Evaluator` draws ``num_samples`` once, extracts their features once, and hands that one
draw to every requested entry.

A new metric is one function here, its computation in a module of its own::

    @register_metric("mine", keys=("mine",), reads={"features"}, prepare=_real_features)
    def _mine(ev: Evaluator, gen: Generated) -> Scores:
        return {"mine": my_distance(gen.features, ev.reference.features())}

then ``gan-train eval.metrics=[fid,mine]`` records ``mine`` in metrics.jsonl and result.json.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from benchmark.data.base import Data
from benchmark.data.triangles import TriangleGeometry
from benchmark.metrics import fid
from benchmark.metrics.features import FeatureExtractor
from benchmark.metrics.fid_inf import fid_infinity
from benchmark.metrics.kid import kid
from benchmark.metrics.modes import mode_metrics
from benchmark.metrics.precision_recall import precision_recall
from benchmark.metrics.reference import Reference
from benchmark.metrics.stats import FeatureStats, RunningStats
from benchmark.metrics.triangles import TriangleSettings, triangle_scores

__all__ = ["METRICS", "Evaluator", "Generated", "LatentModel", "Metric", "register_metric"]

Scores = dict[str, float | int]

# Fixed protocol settings: part of what a KID/PR/modes number means, so not per-run knobs.
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_SEED = 0
PR_K = 3
MODES_N_STD = 3.0

# What an entry may read of a draw. Entries reading features (or their stats) are NaN when
# the features are not finite; the others judge the samples themselves.
READS = frozenset({"samples", "features", "stats", "model"})
FEATURE_READS = frozenset({"features", "stats"})


@dataclass(frozen=True)
class LatentModel:
    """The generator as a function of its latent, for metrics that invert it."""

    generator: Callable[[Tensor], Tensor]  # z (n, z_dim) -> samples in model space
    z_dim: int
    latent: str = "uniform"                # the prior: uniform (z in [-1, 1]) | normal


@dataclass(frozen=True, eq=False)
class Generated:
    """One draw of generated samples, kept in the forms the requested metrics read."""

    samples: Tensor | None      # (n, ...) float32 on the CPU ("samples")
    features: Tensor | None     # (n, d) float32 on the extractor's device ("features")
    stats: FeatureStats | None  # the features' mean and covariance ("stats")
    finite: bool                # every feature is finite (True when none were extracted)
    model: LatentModel | None   # the generator behind the samples ("model"), this call only


@dataclass(frozen=True)
class Metric:
    """A registry entry."""

    name: str
    keys: tuple[str, ...]                                 # what it records, in this order
    compute: Callable[[Evaluator, Generated], Scores]
    reads: frozenset[str]                                 # of READS
    prepare: Callable[[Evaluator], object] | None = None  # reference-side work, before training
    protocol: Callable[[Evaluator], dict[str, Any]] | None = None  # fields recorded with it
    requires: Callable[[Data], str | None] | None = None  # what the data lacks for it, or None
    settings: Callable[[Mapping[str, Any] | None], Any] | None = None  # parses eval.options.<name>


METRICS: dict[str, Metric] = {}


def register_metric(name: str, keys: Sequence[str], *, reads: Collection[str],
                    **hooks: Any) -> Callable[[Callable[[Evaluator, Generated], Scores]],
                                              Callable[[Evaluator, Generated], Scores]]:
    """Decorator: ``compute(ev, gen) -> {key: value}`` becomes the entry ``name`` of METRICS;
    ``hooks`` are Metric's optional fields (prepare, protocol, requires, settings)."""
    if name in METRICS:
        raise ValueError(f"metric {name!r} is registered twice")
    if not set(reads) <= READS:
        raise ValueError(f"metric {name!r} reads {sorted(set(reads) - READS)}; known: {sorted(READS)}")

    def add(compute: Callable[[Evaluator, Generated], Scores]) -> Callable[[Evaluator, Generated], Scores]:
        METRICS[name] = Metric(name, tuple(keys), compute, frozenset(reads), **hooks)
        return compute

    return add


# --- the registry ---------------------------------------------------------------------------------


def _reference_stats(ev: Evaluator) -> object:
    return ev.reference.stats()


def _real_features(ev: Evaluator) -> object:
    return ev.reference.features()


def _fid_prepare(ev: Evaluator) -> object:
    return ev.reference.stats(), fid.floor(ev.reference, ev.num_samples)


@register_metric("fid", ("fid",), reads={"stats"}, prepare=_fid_prepare,
                 protocol=lambda ev: {"fid_floor": fid.floor(ev.reference, ev.num_samples)})
def _fid(ev: Evaluator, gen: Generated) -> Scores:
    assert gen.stats is not None
    ref = ev.reference.stats()
    unreliable = fid.n_below_d(gen.stats.n, ref.n, ev.extractor.name, ev.extractor.dim)
    if unreliable:
        ev.warn_once(unreliable)
    return {"fid": fid.fid(gen.stats, ref)}


@register_metric("kid", ("kid_mean", "kid_std"), reads={"features"}, prepare=_real_features)
def _kid(ev: Evaluator, gen: Generated) -> Scores:
    # Kernels on the accelerator when there is one; on a CPU, numpy's path is the faster.
    device = None if ev.device.type == "cpu" else ev.device
    mean, std = kid(gen.features, ev.reference.features(), subsets=KID_SUBSETS,
                    subset_size=KID_SUBSET_SIZE, seed=KID_SEED, device=device)
    return {"kid_mean": mean, "kid_std": std}


@register_metric("pr", ("precision", "recall"), reads={"features"}, prepare=_real_features)
def _pr(ev: Evaluator, gen: Generated) -> Scores:
    assert gen.features is not None
    # On the evaluation device: its four (n x n) distance passes are the costliest part.
    return precision_recall(torch.from_numpy(ev.reference.features()), gen.features, k=PR_K,
                            device=ev.device)


def _has_modes(data: Data) -> str | None:
    if data.modes is not None and data.mode_std is not None:
        return None
    return f"a toy dataset with modes (ring8, grid25); {data.name} has none"


@register_metric("modes", ("modes_covered", "high_quality"), reads={"samples"},
                 requires=_has_modes)
def _modes(ev: Evaluator, gen: Generated) -> Scores:
    data = ev.data
    assert gen.samples is not None and data.modes is not None and data.mode_std is not None
    return mode_metrics(gen.samples, data.modes, data.mode_std, n_std=MODES_N_STD)


@register_metric("fid_inf", ("fid_inf",), reads={"features"}, prepare=_reference_stats)
def _fid_inf(ev: Evaluator, gen: Generated) -> Scores:
    assert gen.features is not None
    ref = ev.reference.stats()
    return {"fid_inf": fid_infinity(gen.features, ref.mu, ref.sigma).value}


def _has_triangle_manifold(data: Data) -> str | None:
    if data.holdout is not None and isinstance(data.manifold, TriangleGeometry):
        return None
    return (f"a data set with a known triangle manifold and a hold-out split "
            f"(dataset=triangles); {data.name} has not")


def _triangles_protocol(ev: Evaluator) -> dict[str, Any]:
    s: TriangleSettings = ev.settings["triangles"]
    assert ev.data.holdout is not None
    return {**s.protocol(), "triangles_n_precision": min(s.n_precision, ev.num_samples),
            "triangles_n_recall": min(s.n_recall, int(ev.data.holdout.shape[0]))}


# Not feature-based: non-finite samples are imprecise samples, not NaN scores.
@register_metric("triangles", ("precision", "recall", "f1"), reads={"samples", "model"},
                 requires=_has_triangle_manifold, protocol=_triangles_protocol,
                 settings=TriangleSettings.from_options)
def _triangles(ev: Evaluator, gen: Generated) -> Scores:
    data, model = ev.data, gen.model
    assert gen.samples is not None and model is not None and data.holdout is not None
    return triangle_scores(gen.samples[:, 0], data.holdout, data.manifold, model.generator,
                           model.z_dim, model.latent, ev.settings["triangles"], device=ev.device)


# --- the evaluator --------------------------------------------------------------------------------


def _requested(metrics: Sequence[str] | str, data: Data) -> list[Metric]:
    """The entries of ``metrics`` (de-duplicated, order kept), each checked against the data."""
    if isinstance(metrics, str):
        metrics = [metrics]  # eval.metrics=fid on the command line is a plain string
    names = list(dict.fromkeys(str(m) for m in metrics))
    if not names:
        raise ValueError(f"eval.metrics is empty; choose from {sorted(METRICS)}")
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown eval.metrics {unknown}; valid metrics are {sorted(METRICS)}")
    for m in names:
        lacks = METRICS[m].requires(data) if METRICS[m].requires else None
        if lacks:
            raise ValueError(f"eval.metrics=[{m!r}] needs {lacks}")
    # Two metrics writing one key (e.g. pr and triangles both report precision) would
    # silently overwrite each other.
    owner: dict[str, str] = {}
    for m in names:
        for key in METRICS[m].keys:
            if key in owner:
                raise ValueError(f"eval.metrics {owner[key]} and {m} both report {key!r}; "
                                 "request one of them")
            owner[key] = m
    return [METRICS[m] for m in names]


def _settings(options: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """Every entry's parsed ``eval.options`` (all of them, requested or not: a typo is an
    error even in a metric switched off)."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(METRICS))
    if unknown:
        raise ValueError(f"eval.options for unknown metrics {unknown}; valid metrics are "
                         f"{sorted(METRICS)}")
    takes_none = sorted(m for m in options if METRICS[m].settings is None and options[m])
    if takes_none:
        raise ValueError(f"eval.options for {takes_none}, which take no options")
    return {name: m.settings(options.get(name)) for name, m in METRICS.items() if m.settings}


class Evaluator:
    """The requested ``metrics`` of ``num_samples`` generated samples against ``reference_split``.

    ``options``: per-metric settings by name, e.g. ``{"triangles": {"n_recall": 32}}``.
    Samples are drawn once and features extracted once per call, whatever the metrics.
    """

    def __init__(
        self,
        data: Data,
        extractor: FeatureExtractor,
        metrics: Sequence[str] | str,
        num_samples: int,
        reference_split: str = "test",
        batch_size: int = 500,
        device: str | torch.device = "cpu",
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.specs = _requested(metrics, data)
        self.settings = _settings(options)
        if num_samples < 2:
            raise ValueError(f"eval.num_samples must be >= 2 for a covariance, got {num_samples}")
        if batch_size < 1:
            raise ValueError(f"eval.batch_size must be >= 1, got {batch_size}")
        self.metrics = tuple(m.name for m in self.specs)
        self.keys = tuple(k for m in self.specs for k in m.keys)  # what __call__ scores
        self.data = data
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.extractor = extractor.to(self.device)
        self.extractor_id = extractor.short_id()
        self.reference = Reference(data, self.extractor, reference_split, self.batch_size)
        self._warned: set[str] = set()

    def prepare(self) -> None:
        """Compute (or read from the cache) everything on the reference side the metrics need.
        Call it before training, so that the first evaluation does not pay for it."""
        for spec in self.specs:
            if spec.prepare is not None:
                spec.prepare(self)

    def warn_once(self, message: str) -> None:
        """A RuntimeWarning, once per message and evaluator (not at every evaluation)."""
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def generate(self, sample: Callable[[int], Tensor], model: LatentModel | None = None) -> Generated:
        """Draw ``num_samples`` as ``sample(n)`` in batches of ``batch_size``, keeping what the
        metrics read: the samples, their features, the features' running stats."""
        reads = frozenset().union(*(spec.reads for spec in self.specs))
        keep_samples, keep_features = "samples" in reads, "features" in reads
        stats = RunningStats(self.extractor.dim) if "stats" in reads else None
        samples: list[Tensor] = []
        feats: list[Tensor] = []
        finite = torch.tensor(True, device=self.device)  # one sync at the end, not per batch
        remaining = self.num_samples
        with torch.inference_mode():
            while remaining > 0:
                n = min(self.batch_size, remaining)
                x = sample(n)
                if x.shape[0] != n:
                    raise ValueError(f"sample({n}) returned {x.shape[0]} samples")
                if keep_samples:
                    samples.append(x.detach().to("cpu", torch.float32))
                if keep_features or stats is not None:
                    f = self.extractor(x)
                    finite = finite & torch.isfinite(f).all()
                    if stats is not None:
                        stats.update(f)
                    if keep_features:
                        feats.append(f)
                remaining -= n
        return Generated(samples=torch.cat(samples) if keep_samples else None,
                         features=torch.cat(feats) if keep_features else None,
                         stats=stats.finalize() if stats is not None else None,
                         finite=bool(finite), model=model)

    def protocol(self) -> dict[str, Any]:
        """What defines the numbers besides the metrics' names: the extractor, the sample
        sizes, the reference split, then each metric's own fields (fid_floor, triangles_*)."""
        return {
            "extractor": self.extractor.name,
            "extractor_id": self.extractor_id,
            "extractor_weights": self.extractor.weights_id(),
            "n_gen": self.num_samples,
            "n_real": self.reference.n,
            "reference_split": self.reference.split,
            **{k: v for spec in self.specs if spec.protocol for k, v in spec.protocol(self).items()},
        }

    def __call__(self, sample: Callable[[int], Tensor],
                 model: LatentModel | None = None) -> dict[str, Any]:
        """The requested metrics of ``sample`` (n ↦ n generated samples in model space), in the
        order of ``metrics``, then :meth:`protocol`.

        Metrics reading features are NaN (with a warning) if the samples gave non-finite
        features: a diverged generator is a result to record, not a crash. ``model``: the
        generator behind ``sample``, required by metrics that invert it (triangles).
        """
        needs_model = [spec.name for spec in self.specs if "model" in spec.reads]
        if needs_model and model is None:
            raise ValueError(f"eval.metrics={needs_model} invert the generator: pass it as "
                             "Evaluator(...)(sample, LatentModel(G, z_dim, latent))")
        self.prepare()
        gen = self.generate(sample, model)
        nan_specs = [] if gen.finite else [s for s in self.specs if s.reads & FEATURE_READS]
        if nan_specs:
            warnings.warn(f"generated samples gave non-finite features; "
                          f"{[s.name for s in nan_specs]} are NaN", RuntimeWarning, stacklevel=2)
        scores: dict[str, Any] = {}
        for spec in self.specs:
            scores.update(dict.fromkeys(spec.keys, math.nan) if spec in nan_specs
                          else spec.compute(self, gen))
        return {**scores, **self.protocol()}
