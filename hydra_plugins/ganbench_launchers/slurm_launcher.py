"""hydra/launcher=ganbench_slurm (`launcher=slurm`): hydra-submitit-launcher's SlurmLauncher, fed
by the sweeper's plan.

- Before submitting: the plan's problems (missing data, weights, configs that cannot start) and
  the cluster's (slurm_cluster.py: GPUs, CPUs, memory, partition). A sweep none of whose jobs
  could start is refused: one `error:`, exit 2, nothing submitted.
- Submits only the jobs left to run (not finished, not training elsewhere, nothing in their way),
  in job arrays of `hydra.sweeper.max_batch_size`. Each keeps its run dir (Hydra's
  override_dirname) and its number in the whole sweep (hydra.job.num), so a relaunch is the same
  sweep minus what is done. `<sweep dir>/launch.jsonl` records which SLURM task runs which job.
- Waits for every task (a tqdm bar at a terminal), catching what submitit raises for a task that
  ended without a result (cancelled, killed, node lost), and ends with a summary: finished,
  failed, cancelled, still queued; then the `gan-status` and relaunch commands. Exit 0 when every
  submitted job finished, 1 otherwise, 130 on Ctrl-C (the tasks go on; the summary says how to
  stop them).
"""

# no `from __future__ import annotations`: Hydra's plugin scan runs this module outside
# sys.modules, where dataclasses cannot resolve string annotations
import os
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf

from . import slurm_cluster
from .sweeper import batches, refusal, refuse

POLL_S = 2.0
FINISHED, FAILED, CANCELLED, WAITING = "finished", "failed", "cancelled", "still queued or running"


@dataclass
class Outcome:
    job: Any      # benchmark.plan.JobPlan
    task: Any     # submitit.Job
    kind: str = WAITING
    detail: str = ""


class GanbenchSlurmLauncher(SlurmLauncher):
    def preflight(self, plan: Any) -> list[str]:
        """The cluster's problems with this launcher config (they hit every job)."""
        return slurm_cluster.problems(self.params) if plan.to_run else []

    def launch_plan(self, plan: Any, max_batch_size: int | None) -> int:
        why = refusal(plan)
        if why:
            return refuse(why)
        todo = plan.to_run
        if not todo:
            print(f"nothing to submit: {sum(j.done for j in plan.jobs):,} of {len(plan.jobs):,} "
                  "jobs are finished" + ("" if not any(j.live for j in plan.jobs)
                                         else ", the rest train now"), flush=True)
            return 0
        outcomes, refused = self._submit(plan, todo, max_batch_size)
        if refused:  # sbatch said no: its own words, no traceback
            message = f"sbatch refused the submission: {refused}"
            if not outcomes:
                return refuse(message, "the hydra.launcher.* settings are sbatch's options "
                                       "(conf/launcher/slurm.yaml)")
            print(f"error: {message}; the {len(outcomes):,} jobs submitted before go on",
                  file=sys.stderr, flush=True)
        try:
            self._wait(outcomes)
        except KeyboardInterrupt:
            print(_summary(plan, outcomes, interrupted=True), flush=True)
            return 130
        print(_summary(plan, outcomes), flush=True)
        if refused or any(o.kind != FINISHED for o in outcomes):
            return 1
        return 2 if plan.blocked else 0

    def _executor(self) -> Any:
        """submitit's executor with this config's parameters, as SlurmLauncher.launch makes it."""
        import submitit

        init_keys = {"submitit_folder", "max_num_timeout"}
        executor = submitit.AutoExecutor(
            cluster=self._EXECUTOR, folder=self.params["submitit_folder"],
            **{f"{self._EXECUTOR}_max_num_timeout": self.params["max_num_timeout"]})
        common = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in common else f"{self._EXECUTOR}_{k}": v
                                      for k, v in self.params.items() if k not in init_keys})
        return executor

    def _submit(self, plan: Any, todo: list[Any], max_batch_size: int | None
                ) -> tuple[list[Outcome], str | None]:
        """Job arrays of the jobs to run: (what was submitted, sbatch's refusal or None)."""
        from submitit.core.utils import FailedJobError

        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        from benchmark.plan import append_launches

        executor, outcomes = self._executor(), []
        for batch in batches(todo, max_batch_size):
            args = [(list(j.overrides), "hydra.sweep.dir", j.index, f"job_id_for_{j.index}",
                     Singleton.get_state()) for j in batch]
            try:
                tasks = executor.map_array(self, *zip(*args, strict=True))
            except FailedJobError as e:
                return outcomes, str(e).strip()
            outcomes += [Outcome(j, t) for j, t in zip(batch, tasks, strict=True)]
            now = time.time()
            append_launches(sweep_dir, ({"index": j.index, "name": j.name, "slurm_job_id": t.job_id,
                                         "submitted": now} for j, t in zip(batch, tasks,
                                                                           strict=True)))
            arrays = sorted({t.job_id.split("_")[0] for t in tasks})
            print(f"submitted {len(batch):,} jobs as SLURM array {', '.join(arrays)}", flush=True)
        return outcomes, None

    def _wait(self, outcomes: list[Outcome]) -> None:
        from tqdm import tqdm

        pending = list(outcomes)
        with tqdm(total=len(outcomes), desc="SLURM", unit="job", disable=None) as bar:
            while pending:
                still = []
                for outcome in pending:
                    if outcome.task.done():
                        _settle(outcome)
                        bar.update(1)
                    else:
                        still.append(outcome)
                pending = still
                if pending:
                    time.sleep(POLL_S)


def _settle(outcome: Outcome) -> None:
    """What became of a done task: its run's result.json first (the run's own word), else what
    the task returned, else what SLURM says of it."""
    from submitit.core.utils import UncompletedJobError

    from benchmark import rundir

    task, result = outcome.task, rundir.read_result(outcome.job.dir)
    error = None
    if task.paths.result_pickle.exists():
        try:
            returned = task.result()
            returned.return_value  # noqa: B018 (raises the task's exception)
        except UncompletedJobError as e:
            error = str(e).strip().splitlines()[0]
        except Exception as e:  # the run's own exception, handed back by Hydra's run_job
            error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    if result is not None and result["status"] in rundir.FINISHED:
        outcome.kind, outcome.detail = FINISHED, result["status"]
        return
    state = str(task.state)
    if state.startswith("CANCELLED"):
        outcome.kind, outcome.detail = CANCELLED, state
        return
    outcome.kind = FAILED
    if result is not None and result.get("error"):
        error = str(result["error"]).strip().splitlines()[0]
    outcome.detail = error or f"SLURM state {state}, no result (log: {task.paths.stderr})"


def _summary(plan: Any, outcomes: list[Outcome], interrupted: bool = False) -> str:
    kinds = Counter(o.kind for o in outcomes)
    finished = Counter(o.detail for o in outcomes if o.kind == FINISHED)
    arrays = sorted({o.task.job_id.split("_")[0] for o in outcomes})
    how = ", ".join(f"{n} {status}" for status, n in finished.items()) or "none"
    lines = [f"SLURM: {len(outcomes):,} jobs submitted (array {', '.join(arrays)}): "
             f"{kinds[FINISHED]:,} finished ({how}), {kinds[FAILED]:,} failed, "
             f"{kinds[CANCELLED]:,} cancelled, {kinds[WAITING]:,} {WAITING}"]
    for kind in (FAILED, CANCELLED):
        listed = [o for o in outcomes if o.kind == kind]
        if listed:
            lines.append(f"{kind}:")
            lines += [f"  {o.job.name}  task {o.task.job_id}: {o.detail}" for o in listed[:20]]
            if len(listed) > 20:
                lines.append(f"  ... and {len(listed) - 20} more (gan-status lists them all)")
    if plan.blocked:
        lines.append(f"not submitted: {len(plan.blocked):,} jobs that would fail at start "
                     "(problems above)")
    sweep_dir = Path(str(plan.sweep_dir)).resolve()
    unfinished = sum(o.kind != FINISHED for o in outcomes)
    lines.append(f"status:   gan-status {shlex.quote(str(sweep_dir))}")
    if interrupted and kinds[WAITING]:
        lines.append(f"the tasks go on without this command; stop them: scancel {' '.join(arrays)}")
    if unfinished:
        lines.append(f"relaunch: gan-train {shlex.join(sys.argv[1:])}\n          (submits only "
                     f"the runs not finished, {unfinished:,} now; each resumes from its last "
                     "checkpoint)")
    return "\n".join(lines)
