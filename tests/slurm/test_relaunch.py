"""A SLURM sweep interrupted from outside (tasks cancelled mid-run, the launching command stopped
with Ctrl-C): the launch ends with a summary and the commands to use, never submitit's
traceback; a relaunch submits only the runs not finished, and they resume from their checkpoints.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.status import sweep_status

pytestmark = pytest.mark.slurm

# 6 runs of ~15-30 s on the local cluster's 4 task slots, a checkpoint every 25 steps
RUNS = ["dataset=ring8", "gan=ns_gan,lsgan", "seed=0,1,2", "arch.hidden=32", "train.steps=3000",
        "eval.every=1000", "train.checkpoint_every=25", "eval.num_samples=64", "z_dim=8",
        "train.threads=1", "train.progress=false"]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmark.train", *args]


def _wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _checkpointed(sweep: Path, n: int) -> list[Path] | None:
    """n run dirs with a process training and a checkpoint written, or None."""
    runs = [p.parent for p in sweep.glob("*/running.json") if list(p.parent.glob("checkpoints/*.pt"))]
    return runs[:n] if len(runs) >= n else None


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "GANBENCH_CACHE": str(tmp_path / "cache")}


def test_cancelled_tasks_end_in_a_summary_and_a_relaunch_resumes_only_them(
        slurm_cluster, tmp_path, env, read_submitit_logs):
    sweep = tmp_path / "sweep"
    args = ["-m", "launcher=slurm", *RUNS, f"hydra.sweep.dir={sweep}", *slurm_cluster["overrides"],
            "hydra.launcher.timeout_min=5"]
    launch = subprocess.Popen(_command(*args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    cancelled = _wait_for(lambda: _checkpointed(sweep, 2), 150, "two runs to checkpoint")
    tasks = {run.name: json.loads((run / "running.json").read_text())["slurm_job_id"]
             for run in cancelled}
    subprocess.run(["scancel", *tasks.values()], check=True)
    out, err = launch.communicate(timeout=300)
    context = f"{out}\n{err}\n{read_submitit_logs(sweep)}"

    assert launch.returncode == 1, context
    assert "Traceback" not in out + err and "UncompletedJobError" not in out + err, context
    assert ("4 finished (4 completed), 0 failed, 2 cancelled, 0 still queued or running"
            in out), context
    for name, task in tasks.items():
        assert f"  {name}  task {task}: CANCELLED" in out, context
    assert f"status:   gan-status {sweep}\n" in out
    (relaunch,) = re.findall(r"^relaunch: gan-train (.*)$", out, flags=re.M)
    assert shlex.split(relaunch) == args
    assert "(submits only the runs not finished, 2 now; each resumes from its last checkpoint)" \
        in out
    report = sweep_status(sweep)
    assert report["counts"]["completed"] == 4 and report["counts"]["unfinished"] == 2
    assert {r["name"]: r["slurm_job_id"] for r in report["unfinished"]} == tasks

    finished = {p: p.stat().st_mtime_ns for p in sweep.glob("*/result.json")}
    again = subprocess.run(_command(*shlex.split(relaunch)), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    context = f"{again.stdout}\n{again.stderr}\n{read_submitit_logs(sweep)}"
    assert again.returncode == 0, context
    assert "already done   4 " in again.stdout and "to run         2\n" in again.stdout, context
    assert "SLURM: 2 jobs submitted" in again.stdout and "2 finished (2 completed)" in again.stdout
    launched = [json.loads(line) for line in (sweep / "launch.jsonl").read_text().splitlines()]
    assert len(launched) == 8 and {r["name"] for r in launched[6:]} == set(tasks), launched
    for name in tasks:  # each picked up its checkpoint, and finished
        assert "resuming from" in (sweep / name / "train.log").read_text(), name
        assert json.loads((sweep / name / "result.json").read_text())["status"] == "completed"
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # the others untouched


def test_ctrl_c_ends_with_the_summary_and_how_to_stop_the_tasks(slurm_cluster, tmp_path, env):
    sweep = tmp_path / "sweep"
    long_runs = [a if not a.startswith("train.steps=") else "train.steps=200000" for a in RUNS]
    args = ["-m", "launcher=slurm", *long_runs, "seed=0", f"hydra.sweep.dir={sweep}",
            *slurm_cluster["overrides"], "hydra.launcher.timeout_min=5"]
    # Ctrl-C at a terminal: SIGINT at its default disposition in the command, even when this
    # test runs as a background job (a non-interactive shell starts those with SIGINT ignored,
    # which exec keeps, and Python then installs no KeyboardInterrupt handler).
    launch = subprocess.Popen(_command(*args), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for(lambda: _checkpointed(sweep, 2), 150, "both runs to train")
    launch.send_signal(signal.SIGINT)
    out, err = launch.communicate(timeout=120)
    arrays = {json.loads(line)["slurm_job_id"].split("_")[0]
              for line in (sweep / "launch.jsonl").read_text().splitlines()}
    try:
        assert launch.returncode == 130, f"{out}\n{err}"
        assert "Traceback" not in out + err, f"{out}\n{err}"
        assert "0 finished (none), 0 failed, 0 cancelled, 2 still queued or running" in out
        # the tasks go on without the launching command, and the summary says how to stop them
        assert len(list(sweep.glob("*/running.json"))) == 2
        (stop,) = re.findall(r"stop them: (scancel \d+)$", out, flags=re.M)
        assert shlex.split(stop)[1:] == sorted(arrays)
        subprocess.run(shlex.split(stop), check=True)
        _wait_for(lambda: not list(sweep.glob("*/running.json")), 60, "the tasks to stop")
    finally:  # whatever happened, no task of this sweep outlives the test
        subprocess.run(["scancel", *arrays], capture_output=True)
