"""What a run writes into its directory: `metrics.jsonl` (one line per evaluation) and
`result.json` (the run's outcome, written atomically at the end)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

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
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(obj), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The run's result.json, or None when absent or unreadable (a run that must be redone)."""
    try:
        return json.loads((Path(run_dir) / RESULT_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


class MetricsLog:
    """Append-only JSON-lines log: one object per evaluation, flushed at once so that a
    killed job keeps every evaluation it finished."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(_jsonable(record), sort_keys=True) + "\n")

    def truncate(self, after_step: int) -> None:
        """Drop evaluations past `after_step` (made after the checkpoint a run resumes from)."""
        kept = [r for r in self.read() if r.get("step", 0) <= after_step]
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w") as f:
            f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        os.replace(tmp, self.path)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
