"""Where the Hydra configs are, in one place, and composing them outside a Hydra app."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig

# An absolute path: a relative one would be read as a Python module when the console script
# (not `python -m`) runs benchmark/train.py.
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose(overrides: Sequence[str] = (), config_name: str = "config",
            return_hydra_config: bool = False) -> DictConfig:
    """The root config with these overrides, as `gan-train` composes it (no Hydra app running);
    with `return_hydra_config`, Hydra's own node too (sweeper params, sweep dir)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    import benchmark.resolvers  # noqa: F401 (the configs' resolvers)

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides),
                             return_hydra_config=return_hydra_config)
