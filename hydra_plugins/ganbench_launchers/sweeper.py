"""hydra/sweeper=ganbench: Hydra's BasicSweeper's grid, planned as a whole before anything runs.

1. Expand the sweep exactly as BasicSweeper does: `hydra.sweeper.params` first, the command
   line's overrides after (a key given there replaces the param), the Cartesian product of the
   choice/range/glob sweeps in that order.
2. Save `multirun.yaml` (as BasicSweeper), then plan every job (benchmark/plan.py): composed,
   identified, checked and costed; `plan.jsonl` in the sweep dir; the summary printed. This
   replaces BasicSweeper's own check that each job composes, which took as long.
3. Launch: a launcher with `launch_plan` (plan, SLURM) takes the plan itself; any other
   (basic, submitit_local) gets every job that nothing stands in the way of, in batches of
   `max_batch_size`, as under BasicSweeper (finished runs included: each one's process skips it at
   once and logs "nothing to do"). A job with a problem is never launched: it would fail at start.

Exit status (on top of Hydra's): 2 when problems stop the whole sweep, or left jobs unlaunched.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
MULTIRUN_FILE = "multirun.yaml"


def expand(params: Mapping[str, Any] | None, arguments: Sequence[str],
           parser: OverridesParser) -> list[list[str]]:
    """Every job's overrides, in launch order, as BasicSweeper.split_arguments makes them."""
    lines = [f"{k}={v}" for k, v in (params or {}).items()] + [str(a) for a in arguments]
    axes: dict[str, list[str]] = {}  # a key seen again keeps its place, takes the new values
    for override in parser.parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                raise HydraException(f"{override.input_line}: only choice, range and glob sweeps "
                                     "expand into jobs (an interval is for optimising sweepers)")
            axes[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            axes[key] = [f"{key}={override.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*axes.values())]


def batches(jobs: Sequence[Any], size: int | None) -> Iterator[Sequence[Any]]:
    size = size if size and size > 0 else max(1, len(jobs))
    for start in range(0, len(jobs), size):
        yield jobs[start:start + size]


def refusal(plan: Any) -> str | None:
    """Why nothing of this plan may be launched, or None."""
    if plan.launcher_problems:
        return "the launcher cannot run this sweep (problems above)"
    if plan.blocked and not plan.to_run:
        return (f"every job left to run ({len(plan.blocked):,}) would fail at start "
                "(problems above)")
    return None


def refuse(message: str, advice: str = "fix them (launcher=plan checks without launching), "
                                       "then relaunch") -> int:
    """The one `error:` of a launch that launches nothing; the exit status."""
    print(f"error: {message}; nothing launched: {advice}", file=sys.stderr, flush=True)
    return 2


class GanbenchSweeper(Sweeper):
    def __init__(self, max_batch_size: int | None = None,
                 params: Mapping[str, Any] | None = None) -> None:
        self.max_batch_size = max_batch_size
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        from benchmark.plan import make_plan

        assert self.config is not None and self.hydra_context is not None
        loader = self.hydra_context.config_loader
        jobs = expand(self.params, arguments, OverridesParser.create(config_loader=loader))
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / MULTIRUN_FILE)
        plan = make_plan(self.config, jobs, loader)
        launcher_preflight = getattr(self.launcher, "preflight", None)
        if launcher_preflight is not None:
            plan.launcher_problems = launcher_preflight(plan)
        plan.write()
        print(plan.report(), flush=True)
        launch_plan = getattr(self.launcher, "launch_plan", None)
        code = (launch_plan(plan, self.max_batch_size) if launch_plan is not None
                else self._launch(plan))
        if code:
            sys.exit(code)
        return []

    def _launch(self, plan: Any) -> int:
        """Any Hydra launcher, as BasicSweeper drives it: batch by batch, a failed job's
        exception raised once its batch has run."""
        why = refusal(plan)
        if why:
            return refuse(why)
        todo = [j.overrides for j in plan.jobs if not j.problems and not j.live]
        start = 0
        for batch in batches(todo, self.max_batch_size):
            for result in self.launcher.launch(batch, initial_job_idx=start):
                _ = result.return_value  # raises the job's exception, as BasicSweeper
            start += len(batch)
        if plan.blocked:
            print(f"error: {len(plan.blocked):,} jobs were not launched: they would fail at start "
                  "(problems above)", file=sys.stderr, flush=True)
            return 2
        return 0
