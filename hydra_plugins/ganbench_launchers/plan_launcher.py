"""hydra/launcher=ganbench_plan (`launcher=plan`): the sweeper's plan is the whole product.

    gan-train +sweep=phase1_wide launcher=plan

Every job is composed, validated and costed, `<sweep dir>/plan.jsonl` written and the summary
printed by the sweeper (hydra_plugins/ganbench_launchers/sweeper.py); nothing trains. Exit 0 when
the sweep can run as planned, 2 when any job has a problem.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.errors import HydraException
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class PlanLauncher(Launcher):
    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config = config

    def launch_plan(self, plan: Any, max_batch_size: int | None) -> int:
        if plan.problem_counts():
            print("error: the sweep cannot run as planned (problems above)", file=sys.stderr,
                  flush=True)
            return 2
        print(f"the sweep can run as planned: {len(plan.to_run):,} jobs to launch "
              "(the same command with launcher=slurm launches them)", flush=True)
        return 0

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        raise HydraException("launcher=plan plans with hydra/sweeper=ganbench "
                             "(conf/launcher/plan.yaml selects both)")
