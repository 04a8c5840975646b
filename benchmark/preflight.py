"""Why a run would fail at start, found before it starts: for `gan-train` itself (one clear
`error:` and exit 2, see benchmark/train.py) and for every job of a sweep's plan
(benchmark/plan.py), which launches none that would.

    check(cfg) -> (problems, facts)   problems: one line (or block) each, worded the same for
                                      every job they hit, so a plan can count them
    require(cfg)                      ConfigError listing the problems, if any

What is checked, each time by the code that would fail later:
- the config's values (benchmark/validate.py) and the dataset builder's arguments (its signature);
- the dataset's files, where it has any: the data layer's own `plan_facts` (benchmark/data/
  torchvision_sets.py) says, without reading a file, what is missing, one sample's shape and the
  train split's length; generated and embedded data (toys, digits, triangles) is built once per
  distinct config instead (milliseconds; the triangles once ~8 s, then cached);
- the FID Inception weights, where features=inception (benchmark/metrics/inception.py);
- that the architecture fits the data: G and D built on the meta device (no memory, no time),
  a batch of two through both, G's output the data's shape.

The expensive checks are cached per distinct input: 4,000 jobs share a handful of datasets,
architectures and weight files.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from benchmark.validate import ConfigError, validate

INCEPTION = "benchmark.metrics.inception.InceptionFeatures"
FACTS_HOOK = "plan_facts"  # a dataset module's way to describe its files without reading them


@dataclass
class Facts:
    """What a plan needs to know of a job besides its config: one sample's shape, the train
    split's length (None: unknown) and whether its objective has D steps."""

    shape: tuple[int, ...] | None = None
    n_train: int | None = None
    trains_discriminator: bool = True
    problems: list[str] = field(default_factory=list)


def check(cfg: DictConfig) -> tuple[list[str], Facts]:
    """(every problem that would stop this run at start, what was learnt on the way), for an
    effective config (benchmark.runconfig.effective). Never raises for a bad config."""
    problems: list[str] = []
    try:
        validate(cfg)
        valid = True
    except ConfigError as e:
        problems += config_problems(e)
        valid = False
    dataset = _container(cfg, "dataset")
    facts = _data_facts(json.dumps(dataset, sort_keys=True, default=str)) \
        if isinstance(dataset, dict) else Facts(problems=["dataset: no dataset config"])
    problems += facts.problems
    features = _container(cfg, "features")
    if isinstance(features, dict) and features.get("_target_") == INCEPTION:
        import torch

        problems += _inception_problems(features.get("weights"),
                                        os.environ.get("GANBENCH_INCEPTION_WEIGHTS"),
                                        torch.hub.get_dir())
    target = OmegaConf.select(cfg, "gan.objective._target_", default=None)
    # an unknown class is validate's problem (the objective cannot be built)
    with contextlib.suppress(Exception):
        facts.trains_discriminator = bool(get_class(str(target)).trains_discriminator)
    if valid and facts.shape is not None:
        problems += _arch_problems(cfg, facts.shape, str(dataset.get("name")))
    return list(dict.fromkeys(problems)), facts


def config_problems(e: ConfigError) -> list[str]:
    """A ConfigError's lines as problems, one each (`invalid config: gan.lr=-1: must be ...`),
    so that one bad key is counted over the jobs it hits."""
    head, *lines = str(e).splitlines()
    return [f"{head.rstrip(':')}: {line.strip()}" for line in lines] or [head]


def require(cfg: DictConfig) -> Facts:
    """check(), raising ConfigError with every problem: the run stops before it builds anything."""
    problems, facts = check(cfg)
    if problems:
        raise ConfigError("this run cannot start:\n" + "\n".join(
            "  " + p.replace("\n", "\n    ") for p in problems))
    return facts


def _container(cfg: DictConfig, key: str) -> Any:
    try:
        node = OmegaConf.select(cfg, key, default=None)
        return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    except Exception:  # an unresolvable value is validate's (or effective's) problem
        return None


# --- the data ---------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _data_facts(node_json: str) -> Facts:
    """Facts of one dataset config (a resolved `dataset` node as JSON, the cache key)."""
    from benchmark.data import SCHEDULE_KEYS, build_dataset

    node = json.loads(node_json)
    name = node.get("name", "?")
    target = str(node.get("_target_", ""))
    module_name, _, builder_name = target.rpartition(".")
    kwargs = {k: v for k, v in node.items() if not k.startswith("_") and k not in SCHEDULE_KEYS}
    try:
        module = importlib.import_module(module_name)
        builder = getattr(module, builder_name)
        inspect.signature(builder).bind(**kwargs)
    except (ImportError, AttributeError, ValueError) as e:
        return Facts(problems=[f"dataset {name}: cannot find its builder {target}: {e}"])
    except TypeError as e:
        return Facts(problems=[f"dataset {name}: {builder_name}() does not take these "
                               f"arguments ({e}); check the dataset.* keys"])
    hook = getattr(module, FACTS_HOOK, None)
    if hook is not None:
        try:
            shape, n_train, problem = hook(builder_name, **kwargs)
        except (ValueError, TypeError) as e:  # a builder the hook does not know, a bad argument
            return Facts(problems=[f"dataset {name}: {e}"])
        return Facts(tuple(shape), n_train, problems=[problem] if problem else [])
    try:
        data = build_dataset(OmegaConf.create(node))
    except Exception as e:  # any failure to build is this job's failure at start
        cause = e.__cause__ or e  # Hydra wraps the builder's error; the cause is the message
        what = "" if isinstance(cause, ValueError) else f"{type(cause).__name__}: "
        return Facts(problems=[f"dataset {name} cannot be built: {what}{cause}"])
    return Facts(tuple(data.sample_shape), len(data.train))


# --- the FID weights --------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _inception_problems(weights: str | None, env: str | None, hub: str) -> list[str]:
    """Why the Inception extractor would find no weights file ([] when it would). `env`
    ($GANBENCH_INCEPTION_WEIGHTS) and `hub` (torch hub's dir) are where it looks besides
    `weights`: part of the cache key only."""
    from benchmark.metrics.inception import InceptionWeightsNotFoundError, resolve_weights

    try:
        resolve_weights(weights)
    except InceptionWeightsNotFoundError as e:
        return [str(e)]
    return []


# --- the architecture against the data ----------------------------------------------------------

def _arch_problems(cfg: DictConfig, shape: tuple[int, ...], dataset: str) -> list[str]:
    from benchmark.composition import discriminator_norm

    try:
        norm = discriminator_norm(cfg)
        key = json.dumps([_container(cfg, "arch"), _container(cfg, "gan.objective._target_"),
                          cfg.z_dim, norm, list(shape)], sort_keys=True, default=str)
    except Exception:  # validate has reported what is wrong with these keys
        return []
    problem = _arch_fit(key, cfg.arch, cfg.gan.objective, int(cfg.z_dim), norm, shape)
    return [f"the architecture does not fit dataset {dataset} (one sample: {shape}): {problem}"] \
        if problem else []


_ARCH_FITS: dict[str, str | None] = {}


def _arch_fit(key: str, arch_cfg: DictConfig, objective_cfg: DictConfig, z_dim: int, norm: str,
              shape: tuple[int, ...]) -> str | None:
    """Why G or D cannot be built for this shape (None: they can), cached by `key`."""
    if key not in _ARCH_FITS:
        _ARCH_FITS[key] = _build_nets(arch_cfg, objective_cfg, z_dim, norm, shape)
    return _ARCH_FITS[key]


def _build_nets(arch_cfg: DictConfig, objective_cfg: DictConfig, z_dim: int, norm: str,
                shape: tuple[int, ...]) -> str | None:
    import torch

    try:
        arch, objective = instantiate(arch_cfg), instantiate(objective_cfg)
    except Exception as e:  # Hydra wraps the constructor's error; the cause is the message
        cause = e.__cause__ or e
        return f"{type(cause).__name__}: {cause}"
    for device in ("meta", "cpu"):  # meta: nothing allocated; cpu if an op has no meta kernel
        try:
            with torch.device(device):
                G = objective.build_generator(arch, z_dim, shape)
                D = objective.build_discriminator(arch, shape, z_dim, norm)
                fake = G(torch.zeros(2, z_dim))
                D(fake)
        except NotImplementedError:
            continue
        except (ValueError, RuntimeError, TypeError, IndexError) as e:
            return str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
        if tuple(fake.shape[1:]) != tuple(shape):
            return f"G makes samples of shape {tuple(fake.shape[1:])}, the data has {shape}"
        return None
    return None
