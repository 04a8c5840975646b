"""What a run writes into its directory: `metrics.jsonl` (one line per evaluation) and
`result.json` (the run's outcome, written atomically at the end)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from benchmark.storage import atomic_write, naming

METRICS_FILE = "metrics.jsonl"
RESULT_FILE = "result.json"
# Present while a run trains (host, pid, SLURM job id); removed when it ends, however it ends.
RUNNING_FILE = "running.json"
# The config the run trained, hyperparameter sample applied and interpolations resolved.
RESOLVED_CONFIG_FILE = "config.yaml"

# A run ends in exactly one of these.
COMPLETED, DIVERGED, FAILED = "completed", "diverged", "failed"


def config_hash(cfg: DictConfig) -> str:
    """sha256 of the resolved config (Hydra's own `hydra` node excluded), 16 hex chars.

    Two runs with the same hash trained the same thing with the same seed.
    """
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    resolved.pop("hydra", None)
    blob = json.dumps(resolved, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    # JSON has no NaN/inf: keep them readable as strings rather than emit invalid JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def atomic_write_json(path: Path, obj: dict[str, Any]) -> None:
    """Write JSON to a temp file in the same directory, then `os.replace` it into place,
    so a reader never sees a half-written file, even if the job is killed mid-write."""
    data = (json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n").encode()
    atomic_write(path, lambda f: f.write(data))


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The run's result.json, or None when absent or unreadable (a run that must be redone)."""
    try:
        result = json.loads((Path(run_dir) / RESULT_FILE).read_bytes())
    # ValueError: bad JSON or bad UTF-8; RecursionError: absurdly nested JSON
    except (OSError, ValueError, RecursionError):
        return None
    return result if isinstance(result, dict) else None


class MetricsLog:
    """Append-only JSON-lines log: one object per evaluation, written at once so that a
    killed job keeps every evaluation it finished.

    Each line goes out in one write() to an O_APPEND descriptor; a write that fails or comes
    up short (a full disk) is cut back off, so the file never ends in half a line written by
    this class. Readers still skip a line they cannot parse (one cut by a lost node, or by an
    older version), with a warning naming the file and line.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(_jsonable(record), sort_keys=True) + "\n").encode()
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
        kept = [r for r in self.read()
                if isinstance(r.get("step"), int) and r["step"] <= after_step]
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept).encode()
        atomic_write(self.path, lambda f: f.write(data))

    def read(self) -> list[dict[str, Any]]:
        """The records that parse as JSON objects; others are skipped with a warning."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        records, bad = [], []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
            if isinstance(record, dict):
                records.append(record)
            else:
                bad.append(number)
        if bad:
            warnings.warn(f"{self.path}: skipped {len(bad)} unreadable line(s) "
                          f"(line {', '.join(map(str, bad[:5]))}{', ...' if len(bad) > 5 else ''}; "
                          "a truncated write?)", stacklevel=2)
        return records
