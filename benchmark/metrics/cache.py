"""On-disk cache for expensive, deterministic artefacts (trained classifiers, reference stats).

Safe under concurrency: many runs of a sweep may ask for the same artefact at once; exactly
one computes it (file lock), the others wait and load it. Files appear atomically
(temp file + ``os.replace``), so a file that exists is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock

__all__ = ["MEMO", "ProcessMemo", "cache_dir", "cache_key", "compute_once"]

log = logging.getLogger(__name__)

T = TypeVar("T")

ENV_VAR = "GANBENCH_CACHE"
DEFAULT_DIR = "~/.cache/ganbench"


def cache_dir() -> Path:
    """The cache directory: ``$GANBENCH_CACHE``, else ``~/.cache/ganbench`` (not created here)."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR).expanduser()


def _canonical_json(fields: Mapping[str, Any]) -> str:
    # Strict JSON (no default=str): a repr could embed memory addresses and break stability.
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def cache_key(fields: Mapping[str, Any]) -> str:
    """First 16 hex chars of sha256(canonical JSON of ``fields``, keys sorted)."""
    return hashlib.sha256(_canonical_json(fields).encode()).hexdigest()[:16]


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file next to ``path``, then rename it into place."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _try_load(path: Path, load: Callable[[Path], T]) -> tuple[bool, T | None, BaseException | None]:
    if not path.exists():
        return False, None, None
    try:
        return True, load(path), None
    except Exception as exc:  # any failure to read it back means the file is unusable
        return False, None, exc


def compute_once(
    path: str | Path,
    compute: Callable[[], T],
    save: Callable[[T, Path], None],
    load: Callable[[Path], T],
    fields: Mapping[str, Any] | None = None,
    describe: Callable[[T], Mapping[str, Any]] | None = None,
) -> T:
    """Return ``load(path)`` if it works; otherwise compute, save atomically and return.

    Concurrent callers (threads or processes) serialise on ``<path>.lock`` and only the first
    computes. A file that exists but fails to load is reported (warning), deleted and recomputed.
    After computing, a human-readable sidecar ``<path>.json`` records ``fields`` (the cache-key
    fields), ``describe(value)`` (e.g. a classifier's accuracy), host and time.
    """
    path = Path(path)
    ok, value, _ = _try_load(path, load)
    if ok:
        return value  # type: ignore[return-value]

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_sibling(path, ".lock"))):
        # Re-check: another process may have written it while we waited for the lock.
        ok, value, exc = _try_load(path, load)
        if ok:
            return value  # type: ignore[return-value]
        if exc is not None:
            msg = f"cache file {path} is unreadable ({type(exc).__name__}: {exc}); recomputing it"
            log.warning(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
            path.unlink(missing_ok=True)

        log.info("computing %s", path)
        start = time.perf_counter()
        value = compute()
        seconds = time.perf_counter() - start
        _atomic_write(path, lambda tmp: save(value, tmp))

        sidecar: dict[str, Any] = {
            "file": path.name,
            "key": cache_key(fields) if fields is not None else None,
            "fields": dict(fields) if fields is not None else None,
            "compute_seconds": round(seconds, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": socket.gethostname(),
        }
        if describe is not None:
            sidecar.update(describe(value))
        text = json.dumps(sidecar, indent=2, sort_keys=True, default=str) + "\n"
        # Provenance only: failing to write it must not lose the computed artefact.
        try:
            _atomic_write(_sibling(path, ".json"), lambda tmp: tmp.write_text(text))
        except OSError as e:
            log.warning("could not write provenance sidecar for %s: %s", path, e)
        return value


class ProcessMemo:
    """`compute_once` results kept in memory by cache path, shared by every caller of the
    process (several runs in one job, an FID and an Evaluator on one dataset): the file is read
    once per process. The path embeds the cache dir and the full key, so entries cannot
    collide. Values are shared: treat them as read-only."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(
        self,
        path: str | Path,
        compute: Callable[[], T],
        save: Callable[[T, Path], None],
        load: Callable[[Path], T],
        fields: Mapping[str, Any] | None = None,
    ) -> T:
        """The memoised value for ``path``, else ``compute_once(path, ...)`` remembered."""
        key = str(path)
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = compute_once(path, compute, save, load, fields=fields)
        with self._lock:
            return self._values.setdefault(key, value)

    def clear(self) -> None:
        """Forget everything: the next `get` reads the disk cache (or computes)."""
        with self._lock:
            self._values.clear()


# The process's memo of reference-side artefacts (stats, features, floors).
MEMO = ProcessMemo()
