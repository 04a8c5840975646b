"""The run directory: its files, their formats, and the one writer and one reader of each.

    <run dir>/
      config.json    identity (config_hash, setting_id) and the effective config, flattened to
                     dotted keys: what the run computes (written before training starts)
      running.json   while a process trains here: host, pid, SLURM job id, start time
      .lock          flock-ed by the one process training here (see RunLock)
      metrics.jsonl  one JSON object per evaluation (MetricsLog)
      result.json    how the run ended, written atomically, last
      generator.pt   the trained G (a torch state dict; written and read by torch code)
      samples/       step_<n>.png (images) or step_<n>.npz (2-D points), one per evaluation
      checkpoints/   step_<n>.pt while the run is unfinished (benchmark/checkpoint.py)

Every JSON file carries `schema_version`. Writers are atomic (temp file + rename; metrics lines in
one write). Readers are tolerant: a missing, truncated or garbled file is reported as a problem,
never raised. Torch-free: training, gan-status, gan-fid, the launchers and the analysis all use it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.identity import config_hash, setting_id
from benchmark.storage import atomic_write, naming

try:  # a faster JSON parser where installed: collect reads 10,000s of these files
    import orjson

    _loads: Callable[[bytes | str], Any] = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

SCHEMA_VERSION = 2

CONFIG_FILE = "config.json"
RUNNING_FILE = "running.json"
LOCK_FILE = ".lock"
METRICS_FILE = "metrics.jsonl"
RESULT_FILE = "result.json"
GENERATOR_FILE = "generator.pt"
SAMPLES_DIR = "samples"
CHECKPOINT_DIR = "checkpoints"
HYDRA_DIR = ".hydra"  # Hydra writes it into a job's dir before the job starts
LEGACY_CONFIG_FILE = "config.yaml"  # schema 1 (before config.json)

# A run's status, one vocabulary for every tool. The first three are written in result.json.
COMPLETED, DIVERGED, FAILED = "completed", "diverged", "failed"
RUNNING = "running"        # running.json present: a process trains here (or died without cleanup)
UNFINISHED = "unfinished"  # the dir exists, but neither a result nor a running process
CORRUPT = "corrupt"        # result.json exists but cannot be read
NOT_STARTED = "not_started"  # a planned job whose dir does not exist yet (sweep-level tools)
ENDED = (COMPLETED, DIVERGED, FAILED)
FINISHED = (COMPLETED, DIVERGED)  # a relaunch skips these (same config hash)
STATUSES = (COMPLETED, DIVERGED, FAILED, RUNNING, UNFINISHED, CORRUPT, NOT_STARTED)


def jsonable(value: Any) -> Any:
    """JSON has no NaN/inf: they become the strings "nan", "inf", "-inf" (read back by `number`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def number(value: Any) -> float | int | None:
    """A JSON number, or one of the strings `jsonable` writes for non-finite floats; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)  # "nan", "inf", "-inf"
        except ValueError:
            return None
    return None


def _write_json(path: Path, obj: dict[str, Any], indent: int | None = 2) -> None:
    data = (json.dumps(jsonable(obj), indent=indent, sort_keys=True) + "\n").encode()
    atomic_write(path, lambda f: f.write(data))


# --- writers -----------------------------------------------------------------------------------

def write_config(run_dir: Path, flat: dict[str, Any]) -> dict[str, str]:
    """config.json from the flattened effective config; returns {config_hash, setting_id}."""
    ident = {"config_hash": config_hash(flat), "setting_id": setting_id(flat)}
    _write_json(Path(run_dir) / CONFIG_FILE,
                {"schema_version": SCHEMA_VERSION, **ident, "config": flat}, indent=None)
    return ident


def write_result(run_dir: Path, result: dict[str, Any]) -> None:
    """result.json, atomically: a reader sees the old file or the whole new one."""
    _write_json(Path(run_dir) / RESULT_FILE, {**result, "schema_version": SCHEMA_VERSION})


def remove_result(run_dir: Path) -> None:
    """Before a rerun: a stale failure must not look current."""
    (Path(run_dir) / RESULT_FILE).unlink(missing_ok=True)


def write_running(run_dir: Path, started: float, slurm_job_id: str | None) -> None:
    """running.json: who trains here, so that status tools can say where and since when."""
    _write_json(Path(run_dir) / RUNNING_FILE,
                {"schema_version": SCHEMA_VERSION, "started": started,
                 "host": socket.gethostname(), "pid": os.getpid(), "slurm_job_id": slurm_job_id})


def remove_running(run_dir: Path) -> None:
    (Path(run_dir) / RUNNING_FILE).unlink(missing_ok=True)


def sample_path(run_dir: Path, step: int, suffix: str) -> Path:
    """samples/step_<n>.<suffix> (png: an image grid; npz: 2-D points under key `points`)."""
    return Path(run_dir) / SAMPLES_DIR / f"step_{step:07d}.{suffix}"


def write_points(run_dir: Path, step: int, points: Any) -> None:
    """Generated 2-D points (an (n, 2) array) as samples/step_<n>.npz, key `points`."""
    import numpy as np

    path = sample_path(run_dir, step, "npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez_compressed(f, points=np.asarray(points)))


class MetricsLog:
    """metrics.jsonl: append-only, one JSON object per evaluation, so that a killed job keeps
    every evaluation it finished.

    Each line goes out in one write() to an O_APPEND descriptor; a write that fails or comes up
    short (a full disk) is cut back off, so the file never ends in half a line written here.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(jsonable(record), sort_keys=True) + "\n").encode()
        with naming(self.path):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                size = os.fstat(fd).st_size
                try:
                    n = os.write(fd, data)
                    if n != len(data):
                        raise OSError(errno.ENOSPC, f"short write ({n} of {len(data)} bytes)")
                except OSError:
                    with contextlib.suppress(OSError):  # no half line for the next append
                        os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)

    def truncate(self, after_step: int) -> None:
        """Drop evaluations past `after_step` (made after the checkpoint a run resumes from),
        and any line that cannot be read."""
        kept = [r for r in self.read() if r["step"] <= after_step]
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept).encode()
        atomic_write(self.path, lambda f: f.write(data))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def read(self) -> list[dict[str, Any]]:
        """The evaluations; unreadable lines are skipped with a warning naming file and lines."""
        records, bad = parse_metrics(_read_bytes(self.path))
        if bad:
            warnings.warn(f"{self.path}: skipped {bad} unreadable line(s) (a truncated write?)",
                          stacklevel=2)
        return records


# --- readers -----------------------------------------------------------------------------------

class _Unreadable(bytes):
    """What _read_bytes returns for a file that exists but cannot be read: the error text."""


def _read_bytes(path: Path | str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as e:  # permissions, stale NFS handles: report, never crash
        return _Unreadable(str(e).encode())


def _json_object(raw: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None), (None, None) when absent, or (None, what is wrong)."""
    if raw is None:
        return None, None
    if isinstance(raw, _Unreadable):
        return None, f"unreadable: {raw.decode(errors='replace')}"
    try:
        obj = _loads(raw)
    except (ValueError, RecursionError):  # bad JSON or UTF-8; RecursionError: absurd nesting
        return None, "not valid JSON (a truncated write?)"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None


def parse_metrics(raw: bytes | None) -> tuple[list[dict[str, Any]], int]:
    """(evaluations: JSON objects with an integer `step`, number of lines skipped)."""
    if not raw or isinstance(raw, _Unreadable):
        return [], 0
    records, bad = [], 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            rec = _loads(line)
        except (ValueError, RecursionError):
            rec = None
        if isinstance(rec, dict) and type(rec.get("step")) is int:
            records.append(rec)
        else:
            bad += 1
    return records, bad


def read_result(run_dir: Path | str) -> dict[str, Any] | None:
    """result.json with a known status, or None (absent or unreadable: a run to redo)."""
    result, _ = _json_object(_read_bytes(Path(run_dir) / RESULT_FILE))
    return result if result is not None and result.get("status") in ENDED else None


def read_running(run_dir: Path | str) -> dict[str, Any] | None:
    info, _ = _json_object(_read_bytes(Path(run_dir) / RUNNING_FILE))
    return info


def _legacy_config(raw: bytes) -> dict[str, Any]:
    # schema 1 wrote the nested config as YAML; only runs made before config.json take this path
    import yaml

    from benchmark.identity import flatten

    nested = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(nested, dict):
        raise ValueError("not a mapping")
    return flatten(nested)


@dataclass
class RunFiles:
    """What one run directory holds, read tolerantly: `problems` says what could not be read."""

    path: str
    status: str
    result: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)  # flattened effective config
    config_hash: str | None = None
    setting_id: str | None = None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    running: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


def is_run_dir(path: Path | str) -> bool:
    """Whether a directory is (or is about to be) one run's directory."""
    return any(os.path.exists(os.path.join(path, name))
               for name in (RESULT_FILE, RUNNING_FILE, METRICS_FILE, CONFIG_FILE, HYDRA_DIR))


def load(run_dir: Path | str, metrics: bool = True) -> RunFiles | None:
    """Every file of a run directory, or None when it holds no run. Never raises for bad files."""
    path = str(run_dir)
    join = os.path.join
    result_raw = _read_bytes(join(path, RESULT_FILE))
    config_raw = _read_bytes(join(path, CONFIG_FILE))
    metrics_raw = _read_bytes(join(path, METRICS_FILE)) if metrics else None
    running_raw = _read_bytes(join(path, RUNNING_FILE)) if result_raw is None else None
    if result_raw is None and config_raw is None and metrics_raw is None and running_raw is None \
            and not os.path.isdir(join(path, HYDRA_DIR)):
        return None
    run = RunFiles(path=path, status=UNFINISHED)

    result, problem = _json_object(result_raw)
    if problem:
        run.status = CORRUPT
        run.problems.append(f"{RESULT_FILE} {problem}")
    elif result is not None:
        if result.get("status") in ENDED:
            run.status, run.result = result["status"], result
        else:
            run.status = CORRUPT
            run.problems.append(f"{RESULT_FILE} has an unknown status {result.get('status')!r}")
    elif running_raw is not None:
        run.status = RUNNING
        run.running, problem = _json_object(running_raw)
        if problem:
            run.problems.append(f"{RUNNING_FILE} {problem}")

    if metrics_raw is not None:
        if isinstance(metrics_raw, _Unreadable):
            run.problems.append(f"{METRICS_FILE} unreadable: {metrics_raw.decode(errors='replace')}")
        run.evaluations, bad = parse_metrics(metrics_raw)
        if bad:
            run.problems.append(f"{METRICS_FILE}: {bad} unreadable line(s) skipped "
                                "(a truncated write?)")

    config, problem = _json_object(config_raw)
    if config is not None and isinstance(config.get("config"), dict):
        run.config = config["config"]
        ids = config.get("config_hash"), config.get("setting_id")
        run.config_hash = ids[0] if isinstance(ids[0], str) else config_hash(run.config)
        run.setting_id = ids[1] if isinstance(ids[1], str) else setting_id(run.config)
    elif config_raw is not None:
        run.problems.append(f"{CONFIG_FILE} {problem or 'has no `config` object'}")
    else:
        legacy = _read_bytes(join(path, LEGACY_CONFIG_FILE))
        if legacy is not None and not isinstance(legacy, _Unreadable):
            try:
                run.config = _legacy_config(legacy)
                run.setting_id = setting_id(run.config)
            except Exception as e:  # YAML errors come in many types; all mean "unreadable"
                run.problems.append(f"{LEGACY_CONFIG_FILE} unreadable: {type(e).__name__}")
    if run.config_hash is None and run.result is not None:
        run.config_hash = run.result.get("config_hash")
    return run


def last_sample_grid(run_dir: Path | str) -> Path | None:
    """The last evaluation's image grid (samples/step_<n>.png), or None."""
    files = sorted(Path(run_dir, SAMPLES_DIR).glob("step_*.png"))
    return files[-1] if files else None


def read_points(run_dir: Path | str) -> Any:
    """The last evaluation's generated 2-D points (an (n, 2) array), or None."""
    import numpy as np

    files = sorted(Path(run_dir, SAMPLES_DIR).glob("step_*.npz"))
    if not files:
        return None
    try:
        with np.load(files[-1]) as f:
            points = np.asarray(f["points"], dtype=float)
    except (OSError, ValueError, KeyError):
        return None
    return points if points.ndim == 2 and points.shape[1] == 2 else None


# --- one live process per run directory -----------------------------------------------------

class RunBusy(RuntimeError):
    """Another live process trains in this run directory."""


class RunLock:
    """An exclusive lock on `<run dir>/.lock`, held for as long as a process trains there.

    `fcntl.flock` through filelock: the kernel drops the lock when its holder dies, however it
    dies (kill -9 included), so a dead holder never blocks a relaunch. Across nodes this relies
    on the shared filesystem's locks: NFSv4 (and v3 with lockd) carry flock as a POSIX lock to
    the server, which frees it when the holder's lease expires (~90 s after a node is lost);
    Lustre needs the `flock` mount option (with `localflock` the lock is per node only); GPFS and
    BeeGFS support it. Acquiring waits `timeout` s, so a status tool's probe never turns a starting
    job away.
    """

    def __init__(self, run_dir: Path | str, timeout: float = 10.0) -> None:
        from filelock import FileLock

        self.path = Path(run_dir) / LOCK_FILE
        self._lock = FileLock(str(self.path), timeout=timeout)

    def __enter__(self) -> RunLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            info = read_running(self.path.parent) or {}
            who = ", ".join(f"{k} {info[k]}" for k in ("host", "pid", "slurm_job_id")
                            if info.get(k) is not None)
            raise RunBusy(f"{self.path.parent} is held by another live process"
                          + (f" ({who})" if who else "") + "; left alone") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def holder_alive(run_dir: Path | str) -> bool | None:
    """Whether a live process holds the run's lock (None: no lock file, or locks unsupported)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return None
    from filelock import FileLock, Timeout

    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:
        return None
    probe.release()
    return False
