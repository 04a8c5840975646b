"""Hyperparameter search as a grid: a sample index expands deterministically into a setting.

Random search over the study's ranges becomes a Cartesian product Hydra can sweep
(`gan=... dataset=... sample=range(100) seed=...`): sample 0 is the objective's default setting
in that range, sample i > 0 draws every key of the search space from a generator seeded by
(objective, space, i), so the same index means the same setting on every machine and in every
relaunch.

A range can give an objective other defaults than its config's (`gan.search_space.defaults.
<range>`): compare_gan's `TuneParams` (generate_tasks_lib.py@49495fd) makes sample 0 of each
range `GetDefaultParams` of that range's `ParamInfo`s, and params.py@49495fd gives the VAE's batch
norm the default false in the narrow range only. Every sample starts from these defaults, then
its draws override them (for i > 0 the draws cover every key of the space).
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


# Under gan.search_space, the key holding per-range defaults rather than a range.
DEFAULTS_KEY = "defaults"


def search_space(cfg: DictConfig) -> dict[str, dict[str, list]]:
    """The common ranges of `cfg.search`, updated by the objective's own (gan.search_space)."""
    if cfg.search.name == DEFAULTS_KEY:
        raise ValueError(f"search.name={DEFAULTS_KEY!r} is reserved (gan.search_space.{DEFAULTS_KEY} "
                         "holds per-range defaults)")
    space = dict(OmegaConf.to_container(cfg.search.params, resolve=True))
    own = OmegaConf.select(cfg, f"gan.search_space.{cfg.search.name}", default=None)
    if own is not None:
        space.update(OmegaConf.to_container(own, resolve=True))
    return space


def range_defaults(cfg: DictConfig) -> dict[str, Any]:
    """{config key: value} the objective's setting starts from in range `cfg.search.name`
    (gan.search_space.defaults.<range>); {} when it has none (its config's values stand)."""
    node = OmegaConf.select(cfg, f"gan.search_space.{DEFAULTS_KEY}.{cfg.search.name}",
                            default=None)
    return {} if node is None else dict(OmegaConf.to_container(node, resolve=True))


def draw(space: Mapping[str, Mapping[str, list]], objective: str, space_name: str,
         sample: int) -> dict[str, Any]:
    """The drawn keys of sample `sample`: {config key: value}. Sample 0 draws nothing ({}: the
    defaults)."""
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
    setting = {**range_defaults(cfg), **draw(space, cfg.gan.name, cfg.search.name, sample)}
    # a drawn gan.disc_batchnorm picks D's norm (batch | none) while D's norm is on that switch
    setting = composition.pin_norm(setting, cfg)
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for key, value in setting.items():
        OmegaConf.update(out, key, value, force_add=True)
    return out, {key: OmegaConf.select(out, key) for key in sorted(space)}
