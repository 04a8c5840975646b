"""The benchmark's cases, one module each, in the order the table lists them.

Each module has ``run(quick: bool, workdir: Path) -> list[Row]``: it times the harness against
a peer doing the same work and checks that the two agree. Modules are imported when their case
runs, so that e.g. pytorch-fid (a dev extra) is needed only by the Fréchet case.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from perf.measure import Row

CASES = {  # name: module (and function, when not `run`)
    "frechet": "frechet",
    "inception": "inception",
    "train_step": "train_step",
    "data": "data_feeding",
    "fid_eval": "fid_eval",
    "collect": "collect",
    "sweep_job": "sweep_job",
    "inception_compile": "inception:run_compiled",  # last: see inception.run_compiled
    "scale": "scale",  # minutes: only on request (--scale)
}
DEFAULT = [c for c in CASES if c != "scale"]
SKIPPED_WHEN_QUICK = ("inception_compile", "scale")


def runner(name: str) -> Callable[[bool, Path], list[Row]]:
    module, _, function = CASES[name].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function or "run")
