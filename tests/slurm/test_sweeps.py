"""The real `gan-train` through `launcher=slurm` on the local cluster, and `gan-status` on what it
leaves: one job array per sweep, relaunches that skip finished runs, the same layout as the local
launcher, failures reported with their error and logs.

Each job pays ~4 s of imports (torch), and the four tasks of a sweep share 2 real cores: a tiny
ring8 sweep takes ~15-20 s from sbatch to the last result.
"""

from __future__ import annotations

import json
import os
import re
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
    assert report["launcher"] == "submitit_slurm"


def test_relaunch_skips_finished_runs(slurm_2x2, env, read_submitit_logs):
    sweep = slurm_2x2["sweep"]
    before = {p: (p.stat().st_mtime_ns, p.read_text()) for p in sorted(sweep.glob("*/result.json"))}
    assert len(before) == 4
    proc, elapsed = gan_train(slurm_2x2["args"], slurm_2x2["base"], env)
    print(f"relaunch of the 2x2 sweep through SLURM (all skipped): {elapsed:.1f} s")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}"
    after = {p: (p.stat().st_mtime_ns, p.read_text()) for p in sorted(sweep.glob("*/result.json"))}
    assert after == before  # not rewritten: same mtime, same content
    # a second array ran (4 more task dirs), and each of its tasks found its run done at once
    tasks = [d.name for d in (sweep / ".submitit").iterdir()
             if d.is_dir() and re.fullmatch(r"\d+_\d+", d.name)]
    assert len(tasks) == 8 and len({t.split("_")[0] for t in tasks}) == 2, tasks
    for run_dir in (p.parent for p in before):
        assert "nothing to do" in (run_dir / "train.log").read_text()


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
    """One job of two raises (arch=mlp cannot build a generator for digits' images)."""
    sweep = tmp_path / "sweep"
    args = ["launcher=slurm", "dataset=digits,ring8", "arch=mlp",
            *[a for a in TINY if not a.startswith("dataset=")],
            f"hydra.sweep.dir={sweep}", *slurm_cluster["overrides"], *SLURM_TIMEOUT]
    proc, elapsed = gan_train(args, tmp_path, env)
    print(f"2-job sweep with a failing job through SLURM: {elapsed:.1f} s")
    context = f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}"
    # Hydra's submitit launcher hands the job's exception back and re-raises it here
    assert proc.returncode != 0, context
    assert "ValueError: arch=mlp works on points" in proc.stderr, context

    report = sweep_status(sweep)
    text = format_report(report)
    assert report["counts"]["failed"] == 1 and report["counts"]["completed"] == 1, text
    (failed,) = report["failed"]
    assert "dataset=digits" in failed["name"]
    assert failed["error"].startswith("ValueError: arch=mlp works on points (D,)"), text
    job_id = failed["slurm_job_id"]
    run_dir = sweep / failed["name"]
    err_log = sweep / ".submitit" / job_id / f"{job_id}_0_log.err"
    assert failed["logs"][:2] == [str(run_dir / "train.log"), str(err_log)], text
    assert all(Path(p).exists() for p in failed["logs"])
    assert f"  {failed['name']}  ValueError: arch=mlp works on points" in text
    assert f"      log: {err_log}" in text
    assert "Traceback" in failed["traceback"]
