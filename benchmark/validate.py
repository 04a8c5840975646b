"""Checks of a run's config before anything is built: a bad number fails fast, naming its key."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from benchmark import composition
from benchmark.objectives.gans import D_BATCHES


class ConfigError(ValueError):
    """An invalid value in the run's config; the message names the key and the rule."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    # finite: inf passes `> 0` but is no learning rate, and train.epochs=inf cannot be scheduled
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))


def _is_list(v: Any) -> bool:
    return OmegaConf.is_list(v) or isinstance(v, list | tuple)


# torch seeds are unsigned 64-bit; the evaluation stream seeds with seed + an offset
_MAX_SEED = 2**63
# epochs become steps by a float product: bounded so that it cannot overflow to inf
_MAX_EPOCHS = 1e6


# (key, predicate, what it must be). Objective-specific keys (gan.objective.*: clip, penalty,
# ...; gan.d_batch) are checked only where the config declares them: they exist only for the
# objectives that have them.
RULES: list[tuple[str, Callable[[Any], bool], str]] = [
    ("seed", lambda v: _is_int(v) and 0 <= v < _MAX_SEED, "an integer in [0, 2**63)"),
    ("z_dim", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("gan.lr", lambda v: _is_num(v) and v > 0, "a number > 0"),
    ("gan.beta1", lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    ("gan.beta2", lambda v: _is_num(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("gan.n_disc", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("gan.d_batch", lambda v: v in D_BATCHES, " or ".join(D_BATCHES)),
    ("gan.objective.clip", lambda v: _is_num(v) and v > 0, "a number > 0"),
    ("gan.objective.penalty", lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    ("gan.objective.gamma", lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    ("gan.objective.lambda_k", lambda v: _is_num(v) and v >= 0, "a number >= 0"),
    ("train.steps", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("train.batch_size", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("train.checkpoint_every", lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0: only on a stop signal)"),
    ("train.threads", lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0: torch's default)"),
    # absent (a config from before the switch) means false
    ("train.amp", lambda v: v is None or isinstance(v, bool), "true or false"),
    ("train.epochs", lambda v: v is None or (_is_num(v) and 0 < v <= _MAX_EPOCHS),
     "null or a number in (0, 1e6]"),
    ("eval.every", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("eval.every_epochs", lambda v: v is None or (_is_num(v) and 0 < v <= _MAX_EPOCHS),
     "null or a number in (0, 1e6]"),
    ("eval.num_samples", lambda v: _is_int(v) and v >= 2, "an integer >= 2"),
    ("eval.batch_size", lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("eval.metrics", lambda v: _is_list(v) and "fid" in list(v),
     "a list that includes fid (e.g. [fid, kid, pr])"),
    ("eval.reference_split", lambda v: v in ("train", "test"), "train or test"),
]


def _objective_specific(key: str) -> bool:
    # gan.d_batch: the GAN(loss x penalty) presets have it; BEGAN, the VAE, the families do not
    return key.startswith("gan.objective.") or key == "gan.d_batch"


def _declared(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None) if parent else cfg
    # keys(), not `in node`: DictConfig.__contains__ is False for a "???" value
    return isinstance(node, DictConfig) and leaf in node.keys()  # noqa: SIM118


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every invalid value (not just the first)."""
    problems = []
    for key, ok, rule in RULES:
        if _objective_specific(key) and not _declared(cfg, key):
            continue
        try:
            value = OmegaConf.select(cfg, key, default=None)
        except Exception as e:  # e.g. an interpolation to a key that does not exist
            problems.append(f"  {key}: cannot be read: {type(e).__name__}: "
                            f"{' '.join(str(e).split())[:200]}")
            continue
        try:
            valid = bool(ok(value))
        except Exception:  # a value of a type the rule never expected is just as invalid
            valid = False
        if not valid:
            problems.append(f"  {key}={value!r}: must be {rule}")
    problems += composition.problems(cfg)  # loss/penalty the objective takes, D's norm
    if not problems:  # the objective's own checks (family hyperparameters), only on a sane config
        problems += _objective_problems(cfg)
    if problems:
        raise ConfigError("invalid config:\n" + "\n".join(problems))


def _objective_problems(cfg: DictConfig) -> list[str]:
    """What the objective's constructor rejects (e.g. EBGAN's margin <= 0), as a config problem
    under `gan.objective` rather than a traceback once the run has started building."""
    node = OmegaConf.select(cfg, "gan.objective", default=None)
    if node is None:
        return []
    target = str(node.get("_target_", "?")).rsplit(".", 1)[-1]
    try:
        instantiate(node)
    except Exception as e:  # Hydra wraps the constructor's error; its cause is the message
        cause = e.__cause__ or e
        what = "" if isinstance(cause, ValueError) else f"{type(cause).__name__}: "
        return [f"  gan.objective ({target}): {what}{' '.join(str(cause).split())[:300]}"]
    return []
