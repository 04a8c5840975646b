"""The local single-node SLURM cluster (scripts/slurm/up.sh) and conf/launcher/slurm.yaml on it.

The `slurm_cluster` fixture (tests/slurm/conftest.py) starts the cluster once for the folder and
stops it at teardown; it skips only where the cluster cannot be set up at all.
Deselect: `pytest -m "not slurm"`.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER_CONF = REPO / "conf" / "launcher"


# A throwaway Hydra app: each job records where and how it ran, then waits at a barrier until all
# four jobs of the sweep have started, which proves they ran at the same time.
APP = """
import json, os, time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    hc = HydraConfig.get()
    barrier = Path(hc.sweep.dir) / "barrier"
    barrier.mkdir(exist_ok=True)
    (barrier / str(hc.job.num)).touch()
    deadline = time.monotonic() + 20
    while len(list(barrier.iterdir())) < cfg.n_jobs and time.monotonic() < deadline:
        time.sleep(0.05)
    env = {k: v for k, v in os.environ.items() if k.startswith("SLURM_") or k == "OMP_NUM_THREADS"}
    result = {"a": cfg.a, "b": cfg.b, "seen_at_barrier": len(list(barrier.iterdir())), "env": env}
    (Path(hc.runtime.output_dir) / "job.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
"""

APP_CONFIG = """\
defaults:
  - launcher: local
  - _self_
a: 0
b: 0
n_jobs: 4
"""


def _make_app(root: Path) -> Path:
    """my_app.py + conf/config.yaml + conf/launcher/{our launcher configs} under root."""
    (root / "conf" / "launcher").mkdir(parents=True)
    for f in LAUNCHER_CONF.glob("*.yaml"):
        shutil.copy(f, root / "conf" / "launcher" / f.name)
    (root / "conf" / "config.yaml").write_text(APP_CONFIG)
    (root / "my_app.py").write_text(APP)
    return root


def _sacct(array_id: str, expected: dict[str, str], timeout_s: float = 20) -> dict[str, str]:
    """{job id: state} of the array's tasks, polled until it is `expected` or timeout_s passed.

    Accounting reaches slurmdbd a moment after the end, and for a while sacct may list the array's
    last task under the bare array id (`5` for `5_3`).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        proc = subprocess.run(
            ["sacct", "-j", array_id, "-X", "-n", "-P", "-o", "JobID,State"],
            capture_output=True,
            text=True,
        )
        states = dict(line.split("|", 1) for line in proc.stdout.split() if "|" in line)
        if states == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


@pytest.mark.slurm
def test_2x2_multirun_is_one_job_array_running_at_once(
    slurm_cluster, read_submitit_logs, tmp_path
):
    app = _make_app(tmp_path / "app")
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "my_app.py",
        "-m",
        "launcher=slurm",
        # conf/launcher/slurm.yaml's settings through hydra-submitit-launcher itself: ganbench's
        # sweeper and launcher plan gan-train's jobs, which this app's are not
        "hydra/sweeper=basic",
        "hydra/launcher=submitit_slurm",
        "a=1,2",
        "b=10,20",
        f"hydra.sweep.dir={sweep}",
        *slurm_cluster["overrides"],
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=app, capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - t0
    print(f"2x2 multirun through SLURM: {elapsed:.1f} s")
    jobs = [json.loads(f.read_text()) for f in sorted(sweep.glob("*/job.json"))]

    def context() -> str:  # for every failure: what hydra said, what the jobs said and wrote
        summary = [{k: v for k, v in j.items() if k != "env"} for j in jobs]
        return f"{proc.stdout}\n{proc.stderr}\n{read_submitit_logs(sweep)}\njobs: {summary}"

    assert proc.returncode == 0, context()
    assert sorted((j["a"], j["b"]) for j in jobs) == [(1, 10), (1, 20), (2, 10), (2, 20)], context()
    # one array of 4 tasks
    array_ids = {j["env"]["SLURM_ARRAY_JOB_ID"] for j in jobs}
    assert len(array_ids) == 1, f"{array_ids}\n{context()}"
    (array_id,) = array_ids
    task_ids = sorted(j["env"]["SLURM_ARRAY_TASK_ID"] for j in jobs)
    assert task_ids == ["0", "1", "2", "3"], context()
    task_dirs = {p.name for p in (sweep / ".submitit").iterdir() if p.is_dir()}
    assert {f"{array_id}_{i}" for i in range(4)} <= task_dirs, f"{task_dirs}\n{context()}"
    # our launcher settings reached sbatch, and the node ran all four tasks at once
    assert all(j["env"]["SLURM_CPUS_PER_TASK"] == "1" for j in jobs), context()
    assert all(j["env"].get("OMP_NUM_THREADS") == "1" for j in jobs), context()  # the setup line
    seen = [j["seen_at_barrier"] for j in jobs]
    assert seen == [4, 4, 4, 4], f"the 4 tasks did not run at once\n{context()}"
    if slurm_cluster["dbd"]:
        expected = {f"{array_id}_{i}": "COMPLETED" for i in range(4)}
        states = _sacct(array_id, expected)
        assert states == expected, f"sacct: {states}\n{context()}"
    assert elapsed < 60


def test_launcher_configs_compose(tmp_path):
    """Each conf/launcher/*.yaml selects its Hydra launcher from a `launcher` defaults entry."""
    from hydra import compose, initialize_config_dir

    app = _make_app(tmp_path / "app")
    from hydra_plugins.ganbench_launchers.slurm_launcher import GanbenchSlurmLauncher

    # its fields, its sbatch (by name: Hydra's plugin scan may import the module a second time)
    assert "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in {
        f"{c.__module__}.{c.__qualname__}" for c in GanbenchSlurmLauncher.__mro__}
    expected = {
        "local": "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "submitit_local": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
        "slurm": "hydra_plugins.ganbench_launchers.slurm_launcher.GanbenchSlurmLauncher",
        "plan": "hydra_plugins.ganbench_launchers.plan_launcher.PlanLauncher",
    }
    with initialize_config_dir(config_dir=str(app / "conf"), version_base="1.3"):
        for name, target in expected.items():
            cfg = compose(
                config_name="config", overrides=[f"launcher={name}"], return_hydra_config=True
            )
            assert cfg.hydra.launcher._target_ == target
            # every launch is planned first (plan.jsonl, what gan-status reads)
            assert cfg.hydra.sweeper._target_ == \
                "hydra_plugins.ganbench_launchers.sweeper.GanbenchSweeper"
        cfg = compose(config_name="config", overrides=["launcher=slurm"], return_hydra_config=True)
        launcher = cfg.hydra.launcher
        assert launcher.max_num_timeout > 0
        assert launcher.timeout_min * 60 > launcher.signal_delay_s + 60
        assert launcher.submitit_folder.endswith("/.submitit/%j")  # under the sweep dir
        assert not any("${" in line for line in launcher.setup)  # resolved twice on the way

    # the documented way to use a site override: copy the example to conf/local/, add +local=slurm
    (app / "conf" / "local").mkdir()
    shutil.copy(
        REPO / "conf" / "local_example" / "slurm.yaml", app / "conf" / "local" / "slurm.yaml"
    )
    with initialize_config_dir(config_dir=str(app / "conf"), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=["launcher=slurm", "+local=slurm"],
            return_hydra_config=True,
        )
        assert cfg.hydra.launcher.partition == "gpu" and cfg.hydra.launcher.account == "my_project"
        assert cfg.hydra.launcher.cpus_per_task == 4  # the rest still from conf/launcher/slurm.yaml


@pytest.mark.slurm
def test_the_command_up_sh_prints_runs_on_its_cluster(slurm_cluster, tmp_path):
    """`make slurm-up` ends with a command line; as printed (plus a sweep dir and a time limit
    that suits a test), it runs on the cluster that up.sh started."""
    (line,) = [ln.strip() for ln in slurm_cluster["up_stdout"].splitlines()
               if ln.strip().startswith(str(REPO / ".venv" / "bin" / "gan-train"))
               or ln.strip().startswith("gan-train ")]
    sweep = tmp_path / "sweep"
    cmd = [*shlex.split(line), f"hydra.sweep.dir={sweep}", "train.steps=20", "eval.every=10",
           "eval.num_samples=64", "hydra.launcher.timeout_min=5", "train.threads=1"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SLURM: 4 jobs submitted" in proc.stdout and "4 finished (4 completed)" in proc.stdout
    assert len(list(sweep.glob("*/result.json"))) == 4
