"""The plugins' configs, registered in Hydra's ConfigStore under the names conf/launcher/*.yaml
pick: hydra/sweeper=ganbench, hydra/launcher=ganbench_plan | ganbench_slurm."""

# no `from __future__ import annotations`: Hydra's plugin scan runs this module outside
# sys.modules, where dataclasses cannot resolve string annotations
from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf

PACKAGE = "hydra_plugins.ganbench_launchers"


@dataclass
class GanbenchSweeperConf:
    """Hydra's BasicSweeper's fields (a sweep file's `hydra.sweeper.params`/`max_batch_size`
    work unchanged)."""

    _target_: str = f"{PACKAGE}.sweeper.GanbenchSweeper"
    # jobs per launch call: per SLURM array (keep it under the cluster's MaxArraySize)
    max_batch_size: Any = None
    params: Any = None


@dataclass
class PlanLauncherConf:
    _target_: str = f"{PACKAGE}.plan_launcher.PlanLauncher"


@dataclass
class GanbenchSlurmConf(SlurmQueueConf):
    """hydra-submitit-launcher's SLURM fields, unchanged."""

    _target_: str = f"{PACKAGE}.slurm_launcher.GanbenchSlurmLauncher"


_store = ConfigStore.instance()
_store.store(group="hydra/sweeper", name="ganbench", node=GanbenchSweeperConf, provider="ganbench")
_store.store(group="hydra/launcher", name="ganbench_plan", node=PlanLauncherConf,
             provider="ganbench")
_store.store(group="hydra/launcher", name="ganbench_slurm", node=GanbenchSlurmConf,
             provider="ganbench")
