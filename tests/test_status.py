"""gan-status on a real sweep dir (one tiny local 2x2 multirun), then on copies of it altered into
every state a job can be in: failed, diverged, running, dead, unfinished, not started, corrupt."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark.rundir import RunLock
from benchmark.status import main, sweep_status

REPO = Path(__file__).resolve().parents[1]
# Each job a second or two on one core; names of the four job dirs below follow from these.
TINY_SWEEP = [
    "dataset=ring8",
    "gan=ns_gan,lsgan",
    "seed=0,1",
    "train.steps=4",
    "eval.every=2",
    "eval.num_samples=64",
    "z_dim=8",
    "arch.hidden=16",
    "train.threads=1",
    "train.progress=false",
]
COMMON = "arch.hidden=16,dataset=ring8,eval.every=2,eval.num_samples=64"
TAIL = "train.steps=4,z_dim=8"  # train.threads, train.progress: not identity (benchmark/identity.py)


def job_name(gan: str, seed: int) -> str:
    """The dir Hydra gives a job of TINY_SWEEP (override_dirname: sorted key=value pairs)."""
    return f"{COMMON},gan={gan},seed={seed},{TAIL}"


JOBS = [job_name(g, s) for g in ("ns_gan", "lsgan") for s in (0, 1)]


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2x2 sweep made by the real gan-train (~10-15 s, once per module)."""
    base = tmp_path_factory.mktemp("status")
    sweep = base / "sweep"
    env = {**os.environ, "GANBENCH_CACHE": str(tmp_path_factory.getbasetemp() / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmark.train", "-m", *TINY_SWEEP, f"hydra.sweep.dir={sweep}"],
        cwd=base, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return sweep


@pytest.fixture
def sweep(real_sweep: Path, tmp_path: Path) -> Path:
    """A private copy of the real sweep, for one test to alter."""
    return Path(shutil.copytree(real_sweep, tmp_path / "sweep", symlinks=True))


def edit_result(run_dir: Path, **changes: object) -> None:
    path = run_dir / "result.json"
    result = json.loads(path.read_text())
    result.update(changes)
    path.write_text(json.dumps(result))


def status_text(sweep_dir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    main([str(sweep_dir)])
    return capsys.readouterr().out


def test_finished_sweep(real_sweep, capsys):
    report = sweep_status(real_sweep)
    assert report["total"] == 4
    assert report["counts"] == {"completed": 4, "diverged": 0, "failed": 0, "running": 0, "unfinished": 0,
                                "not_started": 0, "corrupt": 0}
    assert sorted(r["name"] for r in report["runs"]) == sorted(JOBS)
    assert report["launcher"] == "basic"
    text = status_text(real_sweep, capsys)
    assert "jobs: 4 total" in text
    assert "completed    4" in text
    assert "failed:" not in text and "running:" not in text


def test_every_state_at_once(sweep, capsys, tmp_path):
    failed, diverged, running, gone = (sweep / name for name in JOBS)
    # failed under SLURM: the error's first line, train.log and the task's submitit logs
    edit_result(failed, status="failed", error="ValueError: boom\nsecond line",
                traceback="Traceback ...\nValueError: boom", slurm_job_id="12_3")
    multirun = OmegaConf.load(sweep / "multirun.yaml")
    multirun.hydra.launcher = {"submitit_folder": "${hydra.sweep.dir}/.submitit/%j"}
    OmegaConf.save(multirun, sweep / "multirun.yaml")
    err = sweep / ".submitit" / "12_3" / "12_3_0_log.err"
    err.parent.mkdir(parents=True)
    err.write_text("Traceback ...\n")
    edit_result(diverged, status="diverged", diverged_step=3)
    # running: result.json not written yet; no sign of life for 5 minutes
    (running / "result.json").unlink()
    (running / "running.json").write_text(json.dumps(
        {"started": time.time() - 600, "host": socket.gethostname(), "pid": os.getpid(),
         "slurm_job_id": "12_2"}))
    old = time.time() - 300
    for f in ("running.json", "metrics.jsonl"):
        os.utime(running / f, (old, old))
    shutil.rmtree(gone)

    holder = RunLock(running).__enter__()  # a live holder of the run's lock, as a trainer
    report = sweep_status(sweep)
    assert report["total"] == 4
    assert report["counts"] == {"completed": 0, "diverged": 1, "failed": 1, "running": 1, "unfinished": 0,
                                "not_started": 1, "corrupt": 0}
    assert report["not_started"] == [gone.name]
    (run,) = report["running"]
    assert run["slurm_job_id"] == "12_2" and run["alive"] is True
    assert 290 < run["last_update_s"] < 400
    (fail,) = report["failed"]
    assert fail["error"] == "ValueError: boom"
    assert fail["logs"] == [str(failed / "train.log"), str(err)]

    text = status_text(sweep, capsys)
    assert "diverged     1" in text and "not started  1" in text
    assert (f"  {running.name}  host {socket.gethostname()}  pid {os.getpid()}  slurm 12_2  "
            "last update 5 min ago\n") in text
    assert f"  {failed.name}  ValueError: boom\n" in text
    assert "second line" not in text
    assert f"      log: {failed / 'train.log'}\n" in text
    assert f"      log: {err}" in text
    assert f"not started (1):\n  {gone.name}" in text

    # --json: the same report
    main([str(sweep), "--json"])
    as_json = json.loads(capsys.readouterr().out)
    assert as_json["counts"] == report["counts"]
    assert as_json["failed"][0]["logs"] == fail["logs"]
    holder.__exit__(None, None, None)


def test_dead_and_unfinished_jobs_are_visible(sweep, capsys):
    dead, starting = sweep / JOBS[0], sweep / JOBS[1]
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid is now free: the "run" died without removing running.json
    (dead / "result.json").unlink()
    (dead / "running.json").write_text(json.dumps(
        {"started": time.time(), "host": socket.gethostname(), "pid": proc.pid,
         "slurm_job_id": None}))
    for f in starting.iterdir():  # Hydra made the dir and .hydra/, the run wrote nothing yet
        if f.name != ".hydra":
            shutil.rmtree(f) if f.is_dir() else f.unlink()

    report = sweep_status(sweep)
    assert report["counts"]["running"] == 1 and report["counts"]["unfinished"] == 1
    (running,) = report["running"]
    assert running["name"] == dead.name and running["alive"] is False
    assert [r["name"] for r in report["unfinished"]] == [starting.name]
    text = status_text(sweep, capsys)
    assert f"pid {proc.pid}" in text and "DEAD? (its lock is free" in text
    assert ("unfinished (no process trains there: starting, or stopped before the end; a relaunch "
            f"resumes it):\n  {starting.name}  last change") in text


def test_corrupt_result_is_counted_not_fatal(sweep, capsys):
    path = sweep / JOBS[2] / "result.json"
    path.write_text(path.read_text()[:40])  # a truncated write
    report = sweep_status(sweep)
    assert report["counts"]["corrupt"] == 1 and report["counts"]["completed"] == 3
    (bad,) = report["corrupt"]
    assert bad["file"] == str(path) and "not valid JSON" in bad["error"]
    text = status_text(sweep, capsys)
    assert "corrupt      1" in text
    assert f"  {path}  result.json not valid JSON" in text


def _plan(sweep: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    """`gan-train ... launcher=plan` into `sweep`: what every launch writes first."""
    return subprocess.run(
        [sys.executable, "-m", "benchmark.train", "launcher=plan", *overrides,
         f"hydra.sweep.dir={sweep}"], cwd=sweep.parent, capture_output=True, text=True,
        timeout=300)


def test_jobs_come_from_the_plan_not_from_multirun_yaml(sweep):
    # the sweeper's params in multirun.yaml are no longer read: editing them changes nothing
    multirun = OmegaConf.load(sweep / "multirun.yaml")
    multirun.hydra.sweeper.params = {"gan": "ns_gan,lsgan,wgan", "seed": "range(0,5)"}
    OmegaConf.save(multirun, sweep / "multirun.yaml")
    report = sweep_status(sweep)
    assert report["total"] == 4 and report["counts"]["completed"] == 4
    # a new plan into the same dir (here a 2 x 2 x 3 sweep over gan.lr) is the job list now:
    # 12 jobs, none started; the four old run dirs are from another sweep (no gan.lr in names)
    p = _plan(sweep, *TINY_SWEEP, "gan.lr=1e-4,2e-4,3e-4")
    assert p.returncode == 0, p.stdout + p.stderr
    report = sweep_status(sweep)
    assert report["total"] == 12
    assert report["counts"]["not_started"] == 12 and report["counts"]["completed"] == 0
    assert sorted(report["other_run_dirs"]) == sorted(JOBS)
    assert f"{COMMON},gan.lr=0.0001,gan=ns_gan,seed=0,{TAIL}" in report["not_started"]
    plan = [json.loads(line) for line in (sweep / "plan.jsonl").read_text().splitlines()]
    assert report["not_started"] == [job["name"] for job in plan]  # in the sweep's order


def test_jobs_kept_back_by_the_plan_are_listed_with_their_problem(tmp_path, capsys):
    # MNIST's files are not under data.root: its jobs are planned, and would never be launched
    sweep, data = tmp_path / "planned", tmp_path / "no_data"
    p = _plan(sweep, "gan=ns_gan,lsgan", "dataset=digits,mnist", f"data.root={data}")
    assert p.returncode == 2, p.stdout + p.stderr
    report = sweep_status(sweep)
    assert report["launcher"] == "ganbench_plan"
    assert report["total"] == 4 and report["counts"]["not_started"] == 4
    assert sorted(b["name"] for b in report["blocked"]) == sorted(
        n for n in report["not_started"] if "dataset=mnist" in n)
    assert all(b["problems"] == [report["blocked"][0]["problems"][0]] for b in report["blocked"])
    assert report["blocked"][0]["problems"][0].startswith(f"MNIST not found in {data}. Expected:")
    text = status_text(sweep, capsys)
    assert (f"not launched (2): they would fail at start (plan.jsonl has each one's problems):\n"
            f"  [2 jobs] MNIST not found in {data}. Expected:") in text


def test_slurm_tasks_of_jobs_without_a_result_are_shown(sweep, capsys):
    """launch.jsonl (written by launcher=slurm) names the task of a job that never began or was
    cancelled mid-run; gan-status shows it, and that task's logs."""
    gone, cancelled = sweep / JOBS[0], sweep / JOBS[1]
    shutil.rmtree(gone)
    for f in ("result.json", "generator.pt"):
        (cancelled / f).unlink()
    (sweep / "launch.jsonl").write_text("".join(
        json.dumps({"index": i, "name": name, "slurm_job_id": f"7_{i}", "submitted": 0}) + "\n"
        for i, name in enumerate(JOBS[:2])))
    multirun = OmegaConf.load(sweep / "multirun.yaml")
    multirun.hydra.launcher = {"submitit_folder": "${hydra.sweep.dir}/.submitit/%j"}
    OmegaConf.save(multirun, sweep / "multirun.yaml")
    log = sweep / ".submitit" / "7_1" / "7_1_0_log.err"
    log.parent.mkdir(parents=True)
    log.write_text("slurmstepd: *** JOB 7_1 CANCELLED ***\n")
    report = sweep_status(sweep)
    assert report["submitted"] == {gone.name: "7_0"}
    (run,) = report["unfinished"]
    assert run["slurm_job_id"] == "7_1" and str(log) in run["logs"]
    text = status_text(sweep, capsys)
    assert f"  {gone.name}  (submitted: slurm 7_0)" in text
    assert f"  {cancelled.name}  last change" in text and f"slurm 7_1\n      log: {log}" in text


def test_a_sweep_dir_without_a_plan_counts_its_run_dirs(sweep, capsys):
    (sweep / "plan.jsonl").unlink()  # a sweep launched before plans existed
    report = sweep_status(sweep)
    assert report["total"] == 4 and report["counts"]["completed"] == 4
    assert report["counts"]["not_started"] is None and "no plan.jsonl" in report["total_error"]
    assert "not started  ?" in status_text(sweep, capsys)


def test_a_truncated_plan_line_is_skipped_and_said(sweep):
    path = sweep / "plan.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + [lines[3][:50]]) + "\n")
    report = sweep_status(sweep)
    assert report["total"] == 3 and report["total_error"] == "plan.jsonl: 1 unreadable line(s) skipped"
    assert report["other_run_dirs"] == [JOBS[3]]


@pytest.mark.parametrize("case", ["missing", "file", "run_dir", "no_multirun", "bad_yaml"])
def test_not_a_sweep_dir_exits_2(case, real_sweep, tmp_path, capsys):
    target = tmp_path / "x"
    if case == "file":
        target.write_text("")
    elif case == "run_dir":
        target = real_sweep / JOBS[0]
    elif case == "no_multirun":  # neither multirun.yaml nor plan.jsonl
        target.mkdir()
    elif case == "bad_yaml":
        target.mkdir()
        (target / "multirun.yaml").write_text("hydra: [unclosed\n")
    with pytest.raises(SystemExit) as exc:
        main([str(target)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gan-status: error: ") and str(target) in err
    if case == "run_dir":
        assert "single run" in err


def test_console_script_is_fast_and_never_imports_torch(real_sweep):
    """The installed `gan-status` answers without the training code (login nodes, cron)."""
    script = Path(sys.executable).parent / "gan-status"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "benchmark.status"]
    t0 = time.monotonic()
    proc = subprocess.run([*cmd, str(real_sweep), "--json"], capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"]["completed"] == 4
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys, benchmark.status as s; s.sweep_status(sys.argv[1]);"
         "print(sorted(m for m in ('torch', 'benchmark.train', 'benchmark.data', 'hydra._internal')"
         " if m in sys.modules))",
         str(real_sweep)],
        capture_output=True, text=True, cwd=REPO,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    assert elapsed < 5, f"gan-status took {elapsed:.1f} s"
