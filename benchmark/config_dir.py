"""Where the Hydra configs are, in one place, composing them outside a Hydra app, and the
options of a config group.

The configs ship inside the package, as `benchmark/conf/`: in the source tree that is a link to
the top-level `conf/` (the one directory users read and edit), in an installed wheel a copy
(pyproject.toml's package data). So `gan-train` finds them from any directory, editable install
or not, and every code path finds them here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig

# Absolute and resolved: a relative path would be read as a Python module when the console
# script (not `python -m`) runs benchmark/train.py, and the resolved one is the `conf/` users
# know in error messages and Hydra's `config_sources`.
CONF_DIR = (Path(__file__).resolve().parent / "conf").resolve()
CONFIG_NAME = "config"


@contextmanager
def _hydra() -> Iterator[None]:
    """Hydra initialised on CONF_DIR (no app running), as `gan-train` initialises it."""
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield


def compose(overrides: Sequence[str] = (), config_name: str = CONFIG_NAME,
            return_hydra_config: bool = False) -> DictConfig:
    """The root config with these overrides, as `gan-train` composes it (no Hydra app running);
    with `return_hydra_config`, Hydra's own node too (sweeper params, sweep dir)."""
    from hydra import compose as hydra_compose

    import benchmark.resolvers  # noqa: F401 (the configs' resolvers)

    with _hydra():
        return hydra_compose(config_name=config_name, overrides=list(overrides),
                             return_hydra_config=return_hydra_config)


def options(group: str, searchpath: Sequence[str] | None = None) -> list[str]:
    """The options of a config group on the config search path: conf/ and the directories
    `hydra.searchpath` adds (e.g. `file:///home/me/my_configs`, where a user's own objectives
    live). `searchpath` None: the running app's (none outside one)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.object_type import ObjectType

    if searchpath is None:
        searchpath = list(HydraConfig.get().searchpath) if HydraConfig.initialized() else []
    overrides = [f"hydra.searchpath=[{','.join(searchpath)}]"] if searchpath else []

    def listed() -> list[str]:
        loader = GlobalHydra.instance().config_loader()
        return sorted(loader.get_group_options(group, results_filter=ObjectType.CONFIG,
                                               config_name=CONFIG_NAME, overrides=overrides))

    if GlobalHydra.instance().is_initialized():  # inside gan-train, or a caller's compose
        return listed()
    with _hydra():
        return listed()
