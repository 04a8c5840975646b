"""`gan-status SWEEP_DIR [--json]`: where a multirun stands, read from its files alone.

    gan-status multirun/demo          counts, running jobs, one line per failure with its logs
    gan-status multirun/demo --json   the same as one JSON object

The job list is what the launch wrote: `plan.jsonl` (benchmark/plan.py; every launcher plans the
sweep first), one line per job with its run dir's name (Hydra's override_dirname) and the problems
that kept it from being launched; `launch.jsonl` says which SLURM task each submitted job went to.
So a job that never started is counted, and run dirs left from an earlier, different sweep into
the same dir are told apart. Nothing is re-expanded through Hydra. A sweep dir without a plan (one
launched before plans existed) is counted from the run dirs found. Each job's state is read from
its run dir through benchmark/rundir.py: `result.json` (completed | diverged | failed | corrupt),
else `running.json` (running), else unfinished.

Never imports the training code, torch or the datasets: it must answer in a fraction of a second
on a login node. Exit status: 0 when the report was made, 2 when SWEEP_DIR is no sweep dir.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from benchmark import resolvers, rundir
from benchmark.plan import LAUNCH_FILE, PLAN_FILE, read_jsonl
from benchmark.rundir import (
    COMPLETED,
    CORRUPT,
    DIVERGED,
    FAILED,
    METRICS_FILE,
    NOT_STARTED,
    RESULT_FILE,
    RUNNING,
    RUNNING_FILE,
    UNFINISHED,
)

assert resolvers  # imported for its side effect: multirun.yaml's resolvers are registered
MULTIRUN_FILE = "multirun.yaml"
# The order of the counts in the report (rundir's vocabulary).
BUCKETS = (COMPLETED, DIVERGED, FAILED, RUNNING, UNFINISHED, NOT_STARTED, CORRUPT)


class SweepError(Exception):
    """SWEEP_DIR cannot be read as a sweep dir (the CLI exits 2)."""


def load_multirun(sweep_dir: Path, required: bool = True) -> DictConfig | None:
    """The sweep's multirun.yaml (written by Hydra when the sweep starts), unresolved; None when
    absent or unreadable and not `required` (it only names the launcher and its log folder)."""
    path = sweep_dir / MULTIRUN_FILE
    if not path.is_file():
        if not required:
            return None
        hint = ""
        if (sweep_dir / ".hydra").is_dir():
            hint = " (it looks like a single run's dir: see `python -m analysis.summary`)"
        raise SweepError(f"{sweep_dir}: not a sweep dir, no {PLAN_FILE} or {MULTIRUN_FILE}{hint}")
    try:
        cfg = OmegaConf.load(path)
        if not isinstance(cfg, DictConfig) or "hydra" not in cfg:
            raise ValueError("not a Hydra multirun config (no `hydra` node)")
    except Exception as e:  # yaml errors have many types; all mean the same here
        if not required:
            return None
        raise SweepError(f"{path}: unreadable: {type(e).__name__}: {e}") from e
    return cfg


def load_plan(sweep_dir: Path) -> tuple[list[dict[str, Any]] | None, str | None]:
    """(the plan's jobs that name a run dir, in sweep order, or None without plan.jsonl; what
    could not be read of it)."""
    read = read_jsonl(sweep_dir / PLAN_FILE)
    if read is None:
        return None, None
    records, bad = read
    jobs = [r for r in records if isinstance(r.get("name"), str)]
    bad += len(records) - len(jobs)
    return jobs, (f"{PLAN_FILE}: {bad} unreadable line(s) skipped" if bad else None)


def last_launches(sweep_dir: Path) -> dict[str, str]:
    """{job dir name: the SLURM task it was last submitted as} from launch.jsonl."""
    read = read_jsonl(sweep_dir / LAUNCH_FILE)
    tasks: dict[str, str] = {}
    for record in (read or ([], 0))[0]:
        if isinstance(record.get("name"), str) and type(record.get("slurm_job_id")) in (str, int):
            tasks[record["name"]] = str(record["slurm_job_id"])
    return tasks


def find_run_dirs(sweep_dir: Path) -> dict[str, Path]:
    """{name relative to the sweep dir: path} of every run dir under it.

    Recursive, because a value with a '/' (`data.root=/datasets`) nests the job dir; hidden
    dirs (.submitit, .hydra) are not descended into, nor is a run dir once found.
    """
    found: dict[str, Path] = {}
    for root, dirs, _files in os.walk(sweep_dir):
        path = Path(root)
        if path != sweep_dir and rundir.is_run_dir(path):
            found[path.relative_to(sweep_dir).as_posix()] = path
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    # A job without overrides runs in the sweep dir itself (empty override_dirname).
    if (sweep_dir / RESULT_FILE).exists() or (sweep_dir / RUNNING_FILE).exists():
        found[""] = sweep_dir
    return found


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _pid_alive(info: dict[str, Any]) -> bool | None:
    """Whether running.json's pid still lives: only knowable on the host that wrote it."""
    pid = info.get("pid")
    # pid <= 0 would signal a process group (or every process); bool is no pid
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 \
            or info.get("host") != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):  # OverflowError: a pid no kernel hands out
        return None
    return True


def _submitit_folder(cfg: DictConfig, sweep_dir: Path) -> str | None:
    """hydra.launcher.submitit_folder with the sweep dir as found here (it may have moved)."""
    if OmegaConf.select(cfg, "hydra.launcher.submitit_folder", default=None) is None:
        return None
    try:
        copy = OmegaConf.create({"hydra": OmegaConf.to_container(cfg.hydra, resolve=False)})
        copy.hydra.sweep.dir = str(sweep_dir)
        folder = str(copy.hydra.launcher.submitit_folder)
    except Exception:  # an interpolation only the launching process could resolve
        folder = f"{sweep_dir}/.submitit/%j"
    if not os.path.isabs(folder):
        cwd = OmegaConf.select(cfg, "hydra.runtime.cwd", default=None) or "."
        folder = os.path.join(str(cwd), folder)
    return folder


def log_paths(run_dir: Path, slurm_job_id: str | None, submitit_folder: str | None) -> list[str]:
    """The Hydra job log(s) of a run dir, then the submitit stderr and stdout of its task."""
    logs = [str(p) for p in sorted(run_dir.glob("*.log"))]
    if slurm_job_id and submitit_folder:
        # submitit names the folder by %j (arrays: %A_%a, which is our `<A>_<a>` job id) and the
        # files <id>_<rank>_log.{err,out}. Both: Hydra catches the task's exception and hands it
        # back to the launching process, so a failed run's .err is often empty; what died outside
        # the task (imports, OOM, signals) is there. No .err with stderr_to_stdout.
        folder = Path(submitit_folder.replace("%A_%a", slurm_job_id).replace("%j", slurm_job_id))
        for suffix in ("err", "out"):
            logs += [str(p) for p in sorted(folder.glob(f"{slurm_job_id}_*_log.{suffix}"))]
    return logs


def inspect_run(run_dir: Path, now: float, submitit_folder: str | None) -> dict[str, Any]:
    """One run dir's state, read through benchmark/rundir.py: result.json wins (the run ended),
    else running.json, else unfinished."""
    info: dict[str, Any] = {"path": str(run_dir)}
    run = rundir.load(run_dir, metrics=False) or rundir.RunFiles(str(run_dir), UNFINISHED)
    info["status"] = run.status
    if run.status == CORRUPT:
        return {**info, "file": str(run_dir / RESULT_FILE), "error": "; ".join(run.problems)}
    if run.result is not None:
        result = run.result
        for key in ("gan", "dataset", "seed", "sample", "host", "slurm_job_id", "final_fid",
                    "best_fid", "steps_done", "wall_s", "config_hash", "diverged_step"):
            if key in result:
                info[key] = result[key]
        if run.status == FAILED:
            error = str(result.get("error") or "unknown error (no `error` in result.json)")
            info["error"] = error.strip().splitlines()[0] if error.strip() else error
            # The traceback is in result.json only: Hydra catches the task's exception and
            # hands it back to the launching process, so no job log (and not SLURM) sees it.
            info["traceback"] = result.get("traceback")
            info["result_file"] = str(run_dir / RESULT_FILE)
            if isinstance(result.get("hint"), str):  # e.g. out of memory: smaller batches
                info["hint"] = result["hint"]
            job_id = result.get("slurm_job_id")
            # a hand-edited (or fuzzed) file may hold anything here; bool is no job id
            job_id = str(job_id) if type(job_id) in (str, int) else None
            info["logs"] = log_paths(run_dir, job_id, submitit_folder)
        return info

    if run.status == RUNNING:
        running = run.running or {}
        if run.problems:
            info["running_json_error"] = "; ".join(run.problems)
        for key in ("host", "pid", "slurm_job_id", "started"):
            info[key] = running.get(key)
        # A job killed hard (kill -9, node lost) leaves running.json behind: its lock is free
        # (from any node of a filesystem with working locks), and its files stop changing.
        updates = [t for t in (_mtime(run_dir / METRICS_FILE), _mtime(run_dir / RUNNING_FILE)) if t]
        info["last_update_s"] = now - max(updates) if updates else None
        alive = rundir.holder_alive(run_dir)
        info["alive"] = alive if alive is not None else _pid_alive(running)
        return info

    # Hydra made the dir (and .hydra/) but no process trains there: not yet started, or it
    # died before running.json; the age of the newest file tells which.
    try:
        files = [run_dir, *run_dir.iterdir(), *run_dir.glob(".hydra/*")]
    except OSError:  # removed while we looked
        files = []
    times = [t for t in (_mtime(p) for p in files) if t]
    info["last_update_s"] = now - max(times) if times else None
    return info


def sweep_status(sweep_dir: str | Path, now: float | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (what `--json` prints). Raises SweepError."""
    sweep_dir = Path(sweep_dir).resolve()
    now = time.time() if now is None else now
    if not sweep_dir.exists():
        raise SweepError(f"{sweep_dir}: no such directory")
    if not sweep_dir.is_dir():
        raise SweepError(f"{sweep_dir}: not a directory")
    plan, total_error = load_plan(sweep_dir)
    cfg = load_multirun(sweep_dir, required=plan is None)
    submitit_folder = _submitit_folder(cfg, sweep_dir) if cfg is not None else None
    found = find_run_dirs(sweep_dir)
    launched = last_launches(sweep_dir)

    if plan is not None:
        expected = [job["name"] for job in plan]
        job_dirs = {name: found[name] for name in dict.fromkeys(expected) if name in found}
        other = sorted(set(found) - set(expected))
        # Two jobs in one dir (their overrides differ only in excluded keys) count twice.
        not_started = [n for n in expected if n not in found]
        multiplicity = dict(Counter(expected))
        total: int | None = len(expected)
    else:
        job_dirs, other, multiplicity = dict(found), [], dict.fromkeys(found, 1)
        not_started, total = None, len(found)
        total_error = (f"no {PLAN_FILE} (launched before sweeps were planned): the run dirs "
                       "found are counted; jobs that never started are not known")

    runs = []
    for name, path in job_dirs.items():
        run = {"name": name, **inspect_run(path, now, submitit_folder)}
        if run["status"] == UNFINISHED and name in launched:  # e.g. its task was cancelled
            run["slurm_job_id"] = launched[name]
            run["logs"] = log_paths(path, launched[name], submitit_folder)
        runs.append(run)
    counts = dict.fromkeys(BUCKETS, 0)
    for run in runs:
        counts[run["status"]] += multiplicity[run["name"]]
    counts[NOT_STARTED] = len(not_started) if not_started is not None else None  # unknown

    # jobs the launch kept back: they would have failed at start (their plan's problems)
    blocked = [{"name": job["name"], "problems": job.get("problems")} for job in plan or []
               if job.get("problems") and job["name"] not in found]
    choices = cfg.hydra.get("runtime", {}).get("choices", {}) if cfg is not None else {}
    return {
        "sweep_dir": str(sweep_dir),
        "launcher": choices.get("hydra/launcher") if choices else None,
        "total": total,
        "total_error": total_error,
        "counts": counts,
        "failed": [r for r in runs if r["status"] == FAILED],
        "running": [r for r in runs if r["status"] == RUNNING],
        "unfinished": [r for r in runs if r["status"] == UNFINISHED],
        "corrupt": [r for r in runs if r["status"] == CORRUPT],
        "not_started": not_started,
        "submitted": {n: launched[n] for n in not_started or [] if n in launched},
        "blocked": blocked,
        "other_run_dirs": other,
        "runs": runs,
    }


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_report(report: dict[str, Any], max_listed: int = 20) -> str:
    """The human-readable report."""
    lines = [f"sweep {report['sweep_dir']}  (launcher: {report['launcher'] or '?'})"]
    total = report["total"]
    lines.append(f"jobs: {total if total is not None else '?'} total"
                 + (f"  [{report['total_error']}]" if report["total_error"] else ""))
    labels = {NOT_STARTED: "not started"}
    for bucket in BUCKETS:
        n = report["counts"][bucket]
        if bucket == CORRUPT and not n:
            continue
        lines.append(f"  {labels.get(bucket, bucket):<12} {n if n is not None else '?'}")

    if report["running"]:
        lines.append("running:")
    for run in report["running"]:
        name = run["name"] or "."
        where = f"host {run.get('host') or '?'}  pid {run.get('pid') or '?'}"
        if run.get("slurm_job_id"):
            where += f"  slurm {run['slurm_job_id']}"
        dead = ""
        if run.get("alive") is False:
            dead = "  DEAD? (its lock is free: killed without cleanup; a relaunch resumes it)"
        lines.append(f"  {name}  {where}  last update {_ago(run['last_update_s'])} ago{dead}")

    if report["unfinished"]:
        lines.append("unfinished (no process trains there: starting, or stopped before the end; "
                     "a relaunch resumes it):")
    for run in report["unfinished"]:
        task = f"  slurm {run['slurm_job_id']}" if run.get("slurm_job_id") else ""
        lines.append(f"  {run['name'] or '.'}  last change {_ago(run['last_update_s'])} ago{task}")
        lines += [f"      log: {path}" for path in run.get("logs") or [] if "submitit" in path]

    if report["failed"]:
        lines.append("failed:")
    for run in report["failed"]:
        lines.append(f"  {run['name'] or '.'}  {run['error']}")
        if run.get("hint"):
            lines.append(f"      hint: {run['hint']}")
        if run.get("traceback"):
            lines.append(f"      traceback: {run['result_file']} (\"traceback\")")
        for path in run["logs"]:
            empty = " (empty)" if _size(path) == 0 else ""
            lines.append(f"      log: {path}{empty}")

    if report["corrupt"]:
        lines.append("corrupt (unreadable result.json; the job reruns on relaunch):")
    for run in report["corrupt"]:
        lines.append(f"  {run['file']}  {run['error']}")

    if report["not_started"]:
        n = len(report["not_started"])
        lines.append(f"not started ({n}):")
        submitted = report.get("submitted") or {}
        lines += [f"  {name}" + (f"  (submitted: slurm {submitted[name]})" if name in submitted
                                 else "") for name in report["not_started"][:max_listed]]
        if n > max_listed:
            lines.append(f"  ... and {n - max_listed} more")

    if report.get("blocked"):
        problems = Counter(p for job in report["blocked"] for p in dict.fromkeys(job["problems"]))
        lines.append(f"not launched ({len(report['blocked'])}): they would fail at start "
                     f"({PLAN_FILE} has each one's problems):")
        for problem, n in problems.most_common():
            head = str(problem).strip().splitlines()[0] if str(problem).strip() else "?"
            lines.append(f"  [{n} job{'' if n == 1 else 's'}] {head}")

    if report["other_run_dirs"]:
        n = len(report["other_run_dirs"])
        lines.append(f"not counted: {n} run dir(s) that are no job of this sweep "
                     "(an earlier sweep into the same dir?):")
        lines += [f"  {name}" for name in report["other_run_dirs"][:max_listed]]
        if n > max_listed:
            lines.append(f"  ... and {n - max_listed} more")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Console script `gan-status`."""
    parser = argparse.ArgumentParser(
        prog="gan-status",
        description="Progress of a gan-train multirun: job counts by state, running jobs, "
                    "failed jobs with their error and logs. Reads files only.")
    parser.add_argument("sweep_dir", help="the sweep dir (hydra.sweep.dir), holding multirun.yaml")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        report = sweep_status(args.sweep_dir)
    except SweepError as e:
        print(f"gan-status: error: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        print(json.dumps(report, indent=2, default=str) if args.json else format_report(report))
        sys.stdout.flush()
    except BrokenPipeError:  # `gan-status DIR | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
