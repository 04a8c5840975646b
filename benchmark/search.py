"""Hyperparameter search as a grid: a sample index expands deterministically into a setting.

Random search over the study's ranges becomes a Cartesian product Hydra can sweep
(`gan=... dataset=... sample=range(100) seed=...`): sample 0 is the objective's default setting,
sample i > 0 draws every key of the search space from a generator seeded by (objective, space, i),
so the same index means the same setting on every machine and in every relaunch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from benchmark import composition


def _uniform(rng: np.random.Generator, arg: list) -> float:
    lo, hi = arg
    return float(rng.uniform(lo, hi))


def _log10_uniform(rng: np.random.Generator, arg: list) -> float:
    lo, hi = arg
    return float(10 ** rng.uniform(lo, hi))


def _choice(rng: np.random.Generator, arg: list) -> Any:
    return arg[int(rng.integers(len(arg)))]


DISTRIBUTIONS: dict[str, Callable[[np.random.Generator, list], Any]] = {
    "uniform": _uniform,
    "log10_uniform": _log10_uniform,
    "choice": _choice,
}


def search_space(cfg: DictConfig) -> dict[str, dict[str, list]]:
    """The common ranges of `cfg.search`, updated by the objective's own (gan.search_space)."""
    space = dict(OmegaConf.to_container(cfg.search.params, resolve=True))
    own = OmegaConf.select(cfg, f"gan.search_space.{cfg.search.name}", default=None)
    if own is not None:
        space.update(OmegaConf.to_container(own, resolve=True))
    return space


def draw(space: Mapping[str, Mapping[str, list]], objective: str, space_name: str,
         sample: int) -> dict[str, Any]:
    """The setting of sample `sample`: {config key: value}. Sample 0 is {} (the defaults)."""
    if sample == 0:
        return {}
    digest = hashlib.sha256(f"{objective}/{space_name}/{sample}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    setting = {}
    for key in sorted(space):  # sorted: the draw order must not depend on YAML key order
        spec = space[key]
        if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
            raise ValueError(f"search range for {key} must be one of {sorted(DISTRIBUTIONS)} "
                             f"with its arguments, e.g. {{uniform: [0, 1]}}; got {spec}")
        (dist, arg), = spec.items()
        setting[key] = DISTRIBUTIONS[dist](rng, arg)
    return setting


def apply_sample(cfg: DictConfig) -> tuple[DictConfig, dict[str, Any]]:
    """(config with sample `cfg.sample` applied, the searched keys' effective values).

    With `sample: null` the config is returned unchanged and the hparams are empty.
    """
    sample = cfg.get("sample")
    if sample is None:
        return cfg, {}
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0:
        from benchmark.validate import ConfigError

        raise ConfigError(f"invalid config:\n  sample={sample!r}: must be an integer >= 0 or null")
    space = search_space(cfg)
    # an explicit norm= fixes gan.disc_batchnorm, whatever the sample drew for it
    setting = composition.pin_norm(draw(space, cfg.gan.name, cfg.search.name, sample), cfg)
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for key, value in setting.items():
        OmegaConf.update(out, key, value, force_add=True)
    return out, {key: OmegaConf.select(out, key) for key in sorted(space)}
