"""The selection file: which hyperparameter sample of each objective x dataset a search found
best, written by `gan-analyze best --out FILE` and read by phase 3 (`best=FILE`).

    {"schema_version": 1, "rule": "best", "rule_text": "...", "sources": [...],
     "selections": [{"gan": "ns_gan", "dataset": "mnist", "sample": 17, "search": "wide",
                     "features_target": "benchmark.metrics.inception.InceptionFeatures",
                     "protocol": "FID-10k/test, inception", "fid": 7.1, "run_dir": "...", ...}]}

One writer and one reader, here; torch-free (the analysis writes it, config resolution reads it).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.storage import atomic_write

SCHEMA_VERSION = 1
REQUIRED = ("gan", "dataset", "sample", "search", "features_target")
HOW = "gan-analyze best SWEEP_DIR --out FILE"


class SelectionError(ValueError):
    """The selection file is missing, unreadable, or has no entry for a job."""


def write(path: Path | str, selections: Sequence[dict[str, Any]], rule: str, rule_text: str,
          sources: Sequence[str]) -> Path:
    """Write the selection file atomically; every entry needs the REQUIRED keys."""
    for entry in selections:
        missing = [k for k in REQUIRED if entry.get(k) is None]
        if missing:
            raise SelectionError(f"selection {entry.get('gan')}/{entry.get('dataset')} lacks "
                                 f"{', '.join(missing)}")
    path = Path(path)
    blob = {"schema_version": SCHEMA_VERSION, "rule": rule, "rule_text": rule_text,
            "sources": list(sources), "selections": list(selections)}
    data = (json.dumps(blob, indent=2, sort_keys=True, default=str) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))
    return path


@functools.lru_cache(maxsize=16)
def _read(path: str, mtime: float) -> dict[str, Any]:
    try:
        blob = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise SelectionError(f"best={path}: no such file; make it with `{HOW}`") from None
    except (OSError, ValueError) as e:
        raise SelectionError(f"best={path}: unreadable ({e}); make it again with `{HOW}`") from None
    if not isinstance(blob, dict) or not isinstance(blob.get("selections"), list):
        raise SelectionError(f"best={path}: not a selection file (no `selections` list); make "
                             f"one with `{HOW}`")
    return blob


def read(path: Path | str) -> dict[str, Any]:
    """The selection file's content (cached per path and modification time)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = -1.0
    return _read(os.path.abspath(path), mtime)


def lookup(path: str | None, gan: str, dataset: str, search: str, features_target: str) -> int:
    """The selected sample of `gan` on `dataset`, after checking that the job draws it from the
    same search range and scores it with the same features as the run it was selected from."""
    if path is None or str(path) in ("", "None", "null"):
        raise SelectionError("this sweep reruns selected settings and no selection was given: "
                             f"make one with `{HOW}`, then add best=FILE")
    entries = [e for e in read(path)["selections"]
               if isinstance(e, dict) and e.get("gan") == gan and e.get("dataset") == dataset]
    if not entries:
        have = sorted({f"{e.get('gan')}/{e.get('dataset')}" for e in read(path)["selections"]
                       if isinstance(e, dict)})
        raise SelectionError(f"best={path} selects nothing for {gan} on {dataset} (it has: "
                             f"{', '.join(have) or 'nothing'}); drop that job from the sweep "
                             "(gan=..., dataset=...) or select from a sweep that ran it")
    if len(entries) > 1:
        raise SelectionError(f"best={path} has {len(entries)} selections for {gan} on {dataset} "
                             "(several FID protocols?); select from runs of one protocol")
    entry = entries[0]
    if entry.get("search") != search:
        raise SelectionError(f"best={path}: {gan}/{dataset} sample {entry.get('sample')} was "
                             f"drawn from search={entry.get('search')}, this job draws from "
                             f"search={search}: add search={entry.get('search')}")
    if entry.get("features_target") != features_target:
        raise SelectionError(f"best={path}: {gan}/{dataset} was selected by FID on "
                             f"{entry.get('features_target')}, this job scores with "
                             f"{features_target}: set the same features= as the search")
    sample = entry.get("sample")
    if not isinstance(sample, int) or isinstance(sample, bool):
        raise SelectionError(f"best={path}: {gan}/{dataset} has no integer sample ({sample!r})")
    return sample
