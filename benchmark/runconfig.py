"""A job's effective config: what `gan-train` trains and what its identity is computed from.
Torch-free, so that a launcher can plan thousands of jobs without building anything."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from benchmark.identity import flatten
from benchmark.search import apply_sample


def effective(cfg: DictConfig) -> tuple[DictConfig, dict[str, Any], dict[str, Any]]:
    """(config with the hyperparameter sample applied, the searched keys' values, the resolved
    config flattened to dotted keys). A key that does not resolve (a missing value, a bad
    selection file) is a ConfigError naming the key."""
    from benchmark.validate import ConfigError

    try:
        OmegaConf.to_container(cfg, resolve=True)  # first: its errors name the key
        cfg, hparams = apply_sample(cfg)
        flat = flatten(OmegaConf.to_container(cfg, resolve=True))
    except OmegaConfBaseException as e:
        raise ConfigError(f"invalid config:\n  {_unresolved(e)}") from None
    return cfg, hparams, flat


def _unresolved(e: Exception) -> str:
    """`key: reason` from OmegaConf's error, without its wrapping and object dump."""
    lines = str(e).splitlines()
    key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.strip().startswith("full_key:")),
               getattr(e, "full_key", None) or "?")
    reason = re.sub(r"^\w+ raised while resolving interpolation: ", "", lines[0] if lines else "")
    return f"{key}: {reason}"
