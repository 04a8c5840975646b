"""What every case shares: a table row, timing in turns, the machine the numbers came from."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One line of the table; `numbers` keeps the raw figures for --json."""

    case: str
    ours: str
    peer: str
    ratio: str
    target: str
    correctness: str
    holds: bool | None = None  # the target (speed and correctness) is met; None: no target
    numbers: dict[str, Any] = field(default_factory=dict)
    verdict: str | None = None  # instead of holds/MISSED, e.g. when noise hides the answer
    correct: bool = True  # ours and the peer agree (the exit status depends on this alone)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, process CPU s, result) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (e.g. a reader pool): a figure
    that stays put when other work shares the cores, unlike the wall time."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def interleave(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Wall seconds of each function over `repeats` rounds, run in turn within each round, so
    that a burst of load from elsewhere slows both sides rather than one."""
    walls: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            walls[name].append(timed(fn)[0])
    return walls


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to n inside the block."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fmt_s(s: float) -> str:
    if s >= 100:
        return f"{s:.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1e3:.1f} ms"


def fmt_x(r: float) -> str:
    return f"{r:.0f}x" if r >= 20 else f"{r:.2g}x"


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


def machine() -> dict[str, Any]:
    """CPU model, cores, library versions, device and load: the context of every number."""
    import numpy as np
    import scipy
    import torch

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    info: dict[str, Any] = {
        "cpu": cpu, "cores": cores, "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "python": platform.python_version(),
        "device": (f"cuda: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available()
                   else "cpu (no CUDA device)"),
        "load_avg_start": os.getloadavg()[0],
    }
    with contextlib.suppress(Exception):
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()

        info["commit"] = git("rev-parse", "--short", "HEAD") + (
            "+dirty" if git("status", "--porcelain") else "")
    return info


def print_table(rows: list[Row]) -> None:
    cols = ["case", "ours", "peer", "ratio", "target", "correctness"]
    cells = [[getattr(r, c) for c in cols]
             + [r.verdict or ("" if r.holds is None else ("holds" if r.holds else "MISSED"))]
             for r in rows]
    header = [*cols, "verdict"]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    widths[0] = min(widths[0], 60)
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
