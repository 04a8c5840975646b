"""`launcher=slurm` refuses a sweep none of whose jobs could start, before anything reaches the
cluster: one `error:` naming what to change, exit 2, no traceback, nothing submitted."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slurm

TINY = ["train.steps=4", "eval.every=2", "eval.num_samples=64", "z_dim=8", "train.threads=1"]
LOCAL = ["hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=null"]  # the node's size
NO_GPU = ["hydra.launcher.gpus_per_node=0"]

CASES = {
    # conf/launcher/slurm.yaml asks for a GPU; the local cluster has none
    "no GPUs on the cluster": (
        ["dataset=ring8", *LOCAL],
        "  [1 job] hydra.launcher.gpus_per_node=1: partition 'local' has no GPUs (sinfo lists no "
        "gpu gres; sbatch would answer 'Invalid generic resource (gres) specification'): set "
        "hydra.launcher.gpus_per_node=0 (or null) to run on its CPUs",
        "error: the launcher cannot run this sweep (problems above); nothing launched"),
    "a missing dataset": (
        ["dataset=mnist,fashion_mnist", "data.root={tmp}/none", *LOCAL, *NO_GPU],
        "  [1 job] MNIST not found in {tmp}/none. Expected:",
        "error: every job left to run (2) would fail at start (problems above); nothing launched"),
    "an architecture that does not fit the data": (
        ["dataset=ring8", "arch=infogan", *LOCAL, *NO_GPU],
        "  [1 job] the architecture does not fit dataset ring8 (one sample: (2,)): arch=infogan "
        "needs images",
        "error: every job left to run (1) would fail at start (problems above); nothing launched"),
    "what only sbatch knows": (
        ["dataset=ring8", "+hydra.launcher.additional_parameters.gres=gpu:1", *LOCAL, *NO_GPU],
        "to run         1\n",
        "error: sbatch refused the submission: sbatch: error: Invalid generic resource (gres) "
        "specification; nothing launched: the hydra.launcher.* settings are sbatch's options"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_sweep_that_cannot_start_is_one_error_and_exit_2(case, slurm_cluster, tmp_path):
    overrides, shown, error = CASES[case]
    sweep = tmp_path / "sweep"
    args = [o.format(tmp=tmp_path) for o in overrides]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark.train", "-m", "launcher=slurm", *TINY, *args,
         f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "GANBENCH_CACHE": str(tmp_path / "cache")})
    context = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 2, context
    assert "Traceback" not in context and "HYDRA_FULL_ERROR" not in context
    assert shown.format(tmp=tmp_path) in proc.stdout, context
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(error), context
    assert (sweep / "plan.jsonl").exists()  # gan-status can say why nothing ran
    assert not (sweep / "launch.jsonl").exists()
    # every job is in the plan, none reached the queue
    queue = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
    assert queue.stdout.strip() == ""
