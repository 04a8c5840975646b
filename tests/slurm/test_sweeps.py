"""The real `gan-train` through `launcher=slurm` on the local cluster, and `gan-status` on what it
leaves: one job array per sweep, relaunches that submit nothing finished, the same layout as the
local launcher, failures reported with their error and logs.

Each job pays ~4 s of imports (torch), and the four tasks of a sweep share 2 real cores: a tiny
ring8 sweep takes ~15-20 s from sbatch to the last result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmark.status import format_report, sweep_status

pytestmark = pytest.mark.slurm

TINY = [
    "dataset=ring8",
    "train.steps=4",
    "eval.every=2",
    "eval.num_samples=64",
    "z_dim=8",
    "arch.hidden=16",
    "train.threads=1",
    "train.progress=false",
]
SWEEP_2X2 = ["gan=ns_gan,lsgan", "seed=0,1"]
# timeout_min*60 must exceed signal_delay_s (120 in conf/launcher/slurm.yaml) + 60: SLURM may send
# the early USR2 up to ~60 s before it is due, and then kills a task without a handler.
SLURM_TIMEOUT = ["hydra.launcher.timeout_min=5"]


def gan_train(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the installed gan-train (or `python -m benchmark.train`), timed."""
    script = Path(sys.executable).parent / "gan-train"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "benchmark.train"]
    t0 = time.monotonic()
    proc = subprocess.run([*cmd, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)
    return proc, time.monotonic() - t0


def results(sweep: Path) -> dict[str, dict[str, Any]]:
    """{job dir name: result.json} of a sweep."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/result.json"))}


def layout(sweep: Path) -> dict[str, list[str]]:
    """{job dir name: the files in it, relative}: what a launcher leaves in a sweep dir."""
    return {d.name: sorted(str(f.relative_to(d)) for f in d.rglob("*") if f.is_file())
            for d in sorted(sweep.iterdir()) if d.is_dir() and not d.name.startswith(".")}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # sbatch exports the submitting environment, so the jobs share this cache too
    return {**os.environ, "GANBENCH_CACHE": str(tmp_path_factory.getbasetemp() / "cache")}


@pytest.fixture(scope="module")
def slurm_2x2(slurm_cluster, env, tmp_path_factory) -> dict[str, Any]:
    """The 2x2 sweep through SLURM, once for the module: its command, dir, output, time."""
    base = tmp_path_factory.mktemp("slurm_2x2")
    sweep = base / "sweep"
    args = ["launcher=slurm", *SWEEP_2X2, *TINY, f"hydra.sweep.dir={sweep}",
            *slurm_cluster["overrides"], *SLURM_TIMEOUT]
    proc, elapsed = gan_train(args, base, env)
    print(f"2x2 gan-train sweep through SLURM: {elapsed:.1f} s")
    return {"args": args, "sweep": sweep, "base": base, "proc": proc, "elapsed": elapsed}


def test_2x2_sweep_is_one_job_array_of_completed_runs(slurm_2x2, read_submitit_logs):
    sweep, proc = slurm_2x2["sweep"], slurm_2x2["proc"]
    context = f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}"
    assert proc.returncode == 0, context
    runs = results(sweep)
    assert len(runs) == 4, context
    assert {r["status"] for r in runs.values()} == {"completed"}, context
    assert sorted((r["gan"], r["seed"]) for r in runs.values()) == [
        ("lsgan", 0), ("lsgan", 1), ("ns_gan", 0), ("ns_gan", 1)]
    ids = [r["slurm_job_id"] for r in runs.values()]
    arrays = {i.split("_")[0] for i in ids}
    assert len(arrays) == 1, ids
    (array,) = arrays
    assert sorted(ids) == [f"{array}_{t}" for t in range(4)]

    report = sweep_status(sweep)
    assert report["total"] == 4 and report["counts"]["completed"] == 4, format_report(report)
    assert report["launcher"] == "ganbench_slurm"
    # what was submitted, as which task: launch.jsonl; and the launch's closing summary
    launched = [json.loads(line) for line in (sweep / "launch.jsonl").read_text().splitlines()]
    assert sorted(r["slurm_job_id"] for r in launched) == sorted(ids)
    assert {r["name"] for r in launched} == set(runs)
    assert (f"SLURM: 4 jobs submitted (array {array}): 4 finished (4 completed), 0 failed, "
            "0 cancelled, 0 still queued or running") in proc.stdout, context
    assert f"status:   gan-status {sweep}" in proc.stdout


def test_relaunch_submits_nothing_finished(slurm_2x2, env, read_submitit_logs):
    sweep = slurm_2x2["sweep"]
    before = {p: (p.stat().st_mtime_ns, p.read_text()) for p in sorted(sweep.glob("*/result.json"))}
    assert len(before) == 4
    tasks_before = sorted(p.name for p in (sweep / ".submitit").iterdir() if p.is_dir())
    proc, elapsed = gan_train(slurm_2x2["args"], slurm_2x2["base"], env)
    print(f"relaunch of the finished 2x2 sweep through SLURM: {elapsed:.1f} s")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}"
    assert "already done   4 " in proc.stdout
    assert "nothing to submit: 4 of 4 jobs are finished" in proc.stdout
    after = {p: (p.stat().st_mtime_ns, p.read_text()) for p in sorted(sweep.glob("*/result.json"))}
    assert after == before  # not rewritten: same mtime, same content
    # no task was submitted: no new task dir, no new line in launch.jsonl
    assert sorted(p.name for p in (sweep / ".submitit").iterdir() if p.is_dir()) == tasks_before
    assert len((sweep / "launch.jsonl").read_text().splitlines()) == 4


def test_local_launcher_gives_the_same_layout(slurm_2x2, env):
    """The same command with launcher=local: same job dir names, same files, same configs."""
    sweep, base = slurm_2x2["sweep"], slurm_2x2["base"]
    local = base / "local"
    proc, elapsed = gan_train([*SWEEP_2X2, *TINY, "launcher=local", f"hydra.sweep.dir={local}"],
                              base, env)
    print(f"2x2 gan-train sweep, launcher=local: {elapsed:.1f} s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert layout(local) == layout(sweep)
    assert len(layout(local)) == 4
    # the launcher is no part of what a run trained: a relaunch with either would skip the other's
    assert ({k: r["config_hash"] for k, r in results(local).items()}
            == {k: r["config_hash"] for k, r in results(sweep).items()})
    assert {r["slurm_job_id"] for r in results(local).values()} == {None}


def test_failed_job_is_reported_by_gan_status(slurm_cluster, env, tmp_path, read_submitit_logs):
    """One job of two fails once it runs (the classifier features need labelled images; ring8
    has none; the plan does not know it). The launch ends with its summary, exit 1; gan-status
    shows the error and the logs."""
    sweep = tmp_path / "sweep"
    args = ["launcher=slurm", "features=raw,classifier", *TINY, f"hydra.sweep.dir={sweep}",
            *slurm_cluster["overrides"], *SLURM_TIMEOUT]
    proc, elapsed = gan_train(args, tmp_path, env)
    print(f"2-job sweep with a failing job through SLURM: {elapsed:.1f} s")
    context = f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}"
    assert proc.returncode == 1, context
    assert "Traceback" not in proc.stdout + proc.stderr, context
    assert "1 finished (1 completed), 1 failed, 0 cancelled" in proc.stdout, context

    report = sweep_status(sweep)
    text = format_report(report)
    assert report["counts"]["failed"] == 1 and report["counts"]["completed"] == 1, text
    (failed,) = report["failed"]
    assert "features=classifier" in failed["name"]
    assert "ClassifierFeatures" in failed["error"], text
    # the launch's summary names the job and the run's own error
    job_id = failed["slurm_job_id"]
    assert f"  {failed['name']}  task {job_id}: {failed['error']}" in proc.stdout, context
    run_dir = sweep / failed["name"]
    err_log = sweep / ".submitit" / job_id / f"{job_id}_0_log.err"
    assert failed["logs"][:2] == [str(run_dir / "train.log"), str(err_log)], text
    assert all(Path(p).exists() for p in failed["logs"])
    assert f"  {failed['name']}  {failed['error']}" in text
    assert f"      log: {err_log}" in text
    assert "features=classifier needs labelled images" in failed["traceback"]
