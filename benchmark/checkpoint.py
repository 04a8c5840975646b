"""Checkpoints of a run in progress: written atomically, the last two kept, read back safely.

A checkpoint holds everything the loop needs to continue exactly where it stopped: nets,
optimisers, the objective's own state (e.g. BEGAN's k), every RNG, the batch stream's position,
the step, and the running results. It is loaded with `torch.load(weights_only=True)`, so a
checkpoint file can never execute code: everything in it is tensors and plain containers.
"""

from __future__ import annotations

import logging
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmark.rundir import CHECKPOINT_DIR
from benchmark.storage import atomic_write

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step_(\d{9})\.pt$")


def rng_state() -> dict[str, Any]:
    """Every RNG the loop draws from, as tensors and plain values (weights_only-safe)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "gauss": gauss},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["gauss"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _checkpoints(run_dir: Path) -> list[Path]:
    """This run's checkpoint files, newest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)), reverse=True)


def save(run_dir: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write `state` as checkpoint `step` (temp file + os.replace), then drop all but `keep`."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:09d}.pt"
    # a full disk: the error names the file, no partial file stays, the older ones are intact
    atomic_write(path, lambda f: torch.save(state, f))
    for old in _checkpoints(run_dir)[keep:]:
        old.unlink(missing_ok=True)
    return path


def load_latest(run_dir: Path, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
    """The newest checkpoint that loads; a corrupt one is skipped with a warning (the previous
    one is tried next). None, with a warning if files were there, when none is usable."""
    candidates = _checkpoints(run_dir)
    for path in candidates:
        try:
            state = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:  # truncated or corrupt file: any unpickling/zip error
            warnings.warn(f"checkpoint {path} is unreadable ({type(e).__name__}: {e}); "
                          "trying an older one", stacklevel=2)
            continue
        # It loaded, but is it one of ours? (a stray file under a checkpoint's name)
        if not (isinstance(state, dict) and isinstance(state.get("config_hash"), str)
                and isinstance(state.get("step"), int)):
            warnings.warn(f"checkpoint {path} is unreadable (not a run checkpoint: no "
                          "config_hash/step); trying an older one", stacklevel=2)
            continue
        log.info("resuming from %s", path)
        return state
    if candidates:
        warnings.warn(f"no usable checkpoint in {Path(run_dir) / CHECKPOINT_DIR}: starting over",
                      stacklevel=2)
    return None


def remove_all(run_dir: Path) -> None:
    """Drop the run's checkpoints (once it has finished they are only disk used)."""
    for path in _checkpoints(run_dir):
        path.unlink(missing_ok=True)


class Interrupted(BaseException):  # noqa: N818 — not an error: the run stopped on request
    """A stop signal arrived, the checkpoint is saved, and nobody else handles the signal.

    A BaseException, so that `except Exception` does not record the run as failed: an
    interrupted run has no result yet and resumes when launched again.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum} after saving a checkpoint")
        self.signum = signum


class StopSignals:
    """Turns SIGTERM / SIGUSR2 into a request the loop honours between two steps.

    SLURM sends USR2 before the time limit (submitit's early signal) and SIGTERM on preemption.
    Acting inside the handler could save a half-updated model, so the handler only records the
    signal; the loop checkpoints after the current step and then calls `forward()`, which hands
    the signal to whoever handled it before (submitit's requeue), or raises Interrupted.
    """

    SIGNALS = ("SIGTERM", "SIGUSR2")

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():  # handlers: main thread only
            for name in self.SIGNALS:
                signum = getattr(signal, name, None)
                if signum is not None:
                    self._previous[signum] = signal.signal(signum, self._record)
        return self

    def _record(self, signum: int, frame: Any) -> None:
        log.warning("signal %d received: checkpointing after this step", signum)
        self.received = signum

    def __exit__(self, *exc: object) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def forward(self) -> None:
        """After the checkpoint: let the previous handler act, else raise Interrupted."""
        signum = self.received
        assert signum is not None
        previous = self._previous.get(signum)
        self.__exit__()
        if callable(previous):
            previous(signum, None)
        raise Interrupted(signum)
