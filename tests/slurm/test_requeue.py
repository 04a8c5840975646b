"""Preemption on SLURM: USR2 mid-training -> checkpoint -> requeue -> resume -> the same result.

`scancel --signal=USR2` is what SLURM sends before a time limit (submitit's early signal); the
run checkpoints after its current step, submitit requeues the task, and the requeued task
resumes from the checkpoint in its own run directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slurm

RUN = ["dataset=ring8", "gan=ns_gan", "arch.hidden=32", "train.steps=2500", "eval.every=500",
       "train.checkpoint_every=25", "train.threads=1", "train.progress=false",
       "eval.num_samples=64", "z_dim=8", "seed=0"]


def _gan_train(*args: str, env: dict[str, str], wait: bool = True):
    script = Path(sys.executable).parent / "gan-train"
    cmd = [str(script) if script.exists() else sys.executable, *([] if script.exists() else
           ["-m", "benchmark.train"]), "-m", *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _one_run(sweep: Path) -> Path:
    runs = [p.parent for p in sweep.glob("*/.hydra")]
    assert len(runs) == 1, runs
    return runs[0]


def test_usr2_requeues_and_resumes_to_the_uninterrupted_result(slurm_cluster, tmp_path):
    env = {**os.environ, "GANBENCH_CACHE": str(tmp_path / "cache")}
    ref_sweep = tmp_path / "local"
    p = _gan_train(*RUN, f"hydra.sweep.dir={ref_sweep}", env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    ref = _one_run(ref_sweep)

    sweep = tmp_path / "slurm"
    proc = _gan_train("launcher=slurm", *RUN, f"hydra.sweep.dir={sweep}",
                      *slurm_cluster["overrides"], "hydra.launcher.timeout_min=5", env=env,
                      wait=False)
    deadline = time.time() + 120
    job = None
    while time.time() < deadline and job is None:
        marker = next(iter(sweep.glob("*/running.json")), None)
        if marker and list(marker.parent.glob("checkpoints/step_*.pt")):
            job = json.loads(marker.read_text())["slurm_job_id"]
        time.sleep(0.2)
    assert job, "the SLURM job never reached its first checkpoint"
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, out[-3000:]

    run_dir = _one_run(sweep)
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "completed" and result["slurm_job_id"] == job
    logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.*"))
    assert "Caught signal SIGUSR2" in logs  # submitit saw the preemption and requeued
    assert "resuming from" in (run_dir / "train.log").read_text()
    # the interrupted-and-resumed run equals the uninterrupted one, bit for bit
    fids = [(r["step"], r["fid"]) for r in map(json.loads, (run_dir / "metrics.jsonl").open())]
    ref_fids = [(r["step"], r["fid"]) for r in map(json.loads, (ref / "metrics.jsonl").open())]
    assert fids == ref_fids
    a = torch.load(run_dir / "generator.pt", weights_only=True)
    b = torch.load(ref / "generator.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
