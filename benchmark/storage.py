"""Storage faults: check a run's directories before training, and name the path when a write fails.

A read-only or full output directory should stop a run at once with a message saying where and
how much, not hours later inside a checkpoint write. What cannot be checked up front (the disk
filling up mid-run) surfaces as an OSError that carries the path it was writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # results.py imports this module, and gan-status must not pay for torch
    import torch

# Checkpoint files alive at once at the peak of checkpoint.save: the two kept + the one written.
CHECKPOINT_COPIES = 3
# A checkpoint beyond its tensors' bytes: RNG states (~15 KiB), the pickle, the zip directory...
CHECKPOINT_FIXED_BYTES = 32 << 10
# ...and per tensor: its zip entry (header, alignment) and its share of the pickle.
TENSOR_ENTRY_BYTES = 384
# Per evaluation: one metrics.jsonl line, generously.
METRICS_LINE_BYTES = 4096
# Headroom on top of the estimate: result.json, config.json, logs, filesystem rounding.
SLACK_BYTES = 1 << 20
# The process's umask, read once (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class StorageError(OSError):
    """A run directory cannot hold the run: not writable, or too little free space.

    Raised as StorageError(errno, message, path); the message already names the path.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def human(n: float) -> str:
    """Bytes as `12.3 MiB`."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


@contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Give an OSError raised inside the block the path being written, when it has none
    (ENOSPC from write()/fsync() says only "No space left on device")."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = str(path)
        raise


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], None]) -> None:
    """`write(f)` into a temp file next to `path`, fsync, then `os.replace` it into place: a
    reader sees the old file or the whole new one, never a part, even on a full disk or a kill.
    An OSError names `path`; the temp file is removed on any failure."""
    path = Path(path)
    with naming(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            # mkstemp makes the file 0600: give it what open() would, so colleagues can read it
            os.fchmod(fd, 0o666 & ~_UMASK)
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def check_writable(dirs: Iterable[Path]) -> None:
    """Create and remove a probe file in each dir (made if missing); StorageError naming the
    dir otherwise. A probe, not os.access: access() ignores read-only mounts and ACLs, and
    says yes to root whatever the permissions."""
    for d in dirs:
        d = Path(d)
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=d, prefix=".write-probe.")
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            why = e.strerror or str(e)
            if e.errno == errno.ENOTDIR or (d.exists() and not d.is_dir()):
                why = f"{why} (a file stands where a directory should be)"
            where = f" ({e.filename})" if e.filename and str(e.filename) != str(d) else ""
            raise StorageError(e.errno, f"output directory {d} is not writable: {why}{where}",
                               str(d)) from e


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def module_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's state_dict (parameters and buffers)."""
    return tensor_bytes(module.state_dict().values())


def checkpoint_bytes(nets: Iterable[torch.nn.Module],
                     optimizers: Iterable[torch.optim.Optimizer | None]) -> int:
    """About the size of a checkpoint of these nets and Adam optimisers once they have stepped:
    state dicts, Adam's exp_avg, exp_avg_sq and step per parameter, and the per-file and
    per-tensor overhead of torch.save (RNG states, pickle, zip entries), which is what counts
    for small nets. Measured against real checkpoints in tests/faults/test_storage.py."""
    nets = list(nets)
    data = sum(module_bytes(m) for m in nets)
    n_tensors = sum(len(m.state_dict()) for m in nets)
    for opt in optimizers:
        if opt is None:
            continue
        params = [p for group in opt.param_groups for p in group["params"]]
        data += 2 * tensor_bytes(params) + 4 * len(params)
        n_tensors += 3 * len(params)
    return data + CHECKPOINT_FIXED_BYTES + TENSOR_ENTRY_BYTES * n_tensors


def estimate_run_bytes(checkpoint_bytes: int, generator_bytes: int, n_evals: int,
                       sample_bytes: int, periodic_checkpoints: bool) -> dict[str, int]:
    """What a run will write at its peak, by item (bytes). A checkpoint is written even with
    periodic checkpoints off, when a stop signal arrives."""
    copies = CHECKPOINT_COPIES if periodic_checkpoints else 1
    return {
        "checkpoints": copies * checkpoint_bytes,
        "generator.pt": generator_bytes,
        "samples": n_evals * sample_bytes,
        "metrics.jsonl": n_evals * METRICS_LINE_BYTES,
        "slack": SLACK_BYTES,
    }


def check_free_space(where: Path, need: dict[str, int], already_there: int = 0) -> None:
    """StorageError, with the numbers, when `where`'s filesystem has less free space than the
    run needs (`need` by item, less `already_there`: e.g. the checkpoints a resumed run has)."""
    total = max(0, sum(need.values()) - already_there)
    free = shutil.disk_usage(where).free
    if free < total:
        items = ", ".join(f"{k} {human(v)}" for k, v in need.items() if v)
        less = f", less {human(already_there)} already written" if already_there else ""
        raise StorageError(
            errno.ENOSPC,
            f"not enough free space in {where}: {human(free)} free, this run writes about "
            f"{human(total)} ({items}{less}); free some space or set hydra.run.dir "
            "(hydra.sweep.dir) elsewhere", str(where))


def files_bytes(paths: Iterable[Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):  # removed meanwhile
            total += p.stat().st_size
    return total
