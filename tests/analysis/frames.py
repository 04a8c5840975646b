"""`runs` / `curves` DataFrames built directly, shaped like analysis.collect's output, for the
analysis tests (no run directories). Import from a test module with:

    sys.path.insert(0, str(Path(__file__).parent)); import frames
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

INF = math.inf
PROTOCOLS = {"classifier": "FID-2k/test, classifier", "inception": "FID-10k/test, inception",
             "raw": "FID-2k/test, raw"}


def run(gan: str, fid: float | None, dataset: str = "mnist", seed: int = 0,
        setting: str | None = None, sample: int | None = None, phase: str | None = None,
        extractor: str = "classifier", status: str | None = None, **extra: Any) -> dict:
    """One row of `runs`. fid INF: a diverged run; None: a failed run; else completed."""
    if status is None:
        status = "failed" if fid is None else "diverged" if fid == INF else "completed"
    n_gen = 10000 if extractor == "inception" else 2000
    row = {"gan": gan, "dataset": dataset, "seed": seed, "sample": sample,
           "setting": setting if setting is not None else f"{gan}-{dataset}-{sample}",
           "status": status,
           "final_fid": fid if status == "completed" else (math.nan if fid in (None, INF)
                                                           else fid),
           "best_fid": fid if status == "completed" else math.nan,
           "protocol": PROTOCOLS.get(extractor, f"FID-2k/test, {extractor}"),
           "extractor": extractor, "extractor_id": f"{extractor}-id", "n_gen": n_gen,
           "n_real": n_gen, "reference_split": "test", "phase": phase,
           "sweep": phase or "sweep"}
    row.update(extra)
    return row


def search(gan: str, fids: Sequence[float | None], dataset: str = "mnist",
           phase: str | None = None, **extra: Any) -> list[dict]:
    """One run per setting (sample i, seed 0), a wide search."""
    return [run(gan, f, dataset, seed=0, sample=i, phase=phase, **extra)
            for i, f in enumerate(fids)]


def seeds(gan: str, fids: Sequence[float | None], dataset: str = "mnist", sample: int = 0,
          phase: str | None = None, **extra: Any) -> list[dict]:
    """The seeds 0..n-1 of one setting."""
    return [run(gan, f, dataset, seed=s, sample=sample, phase=phase, **extra)
            for s, f in enumerate(fids)]


def frame(rows: Iterable[dict], phase_column: bool = True) -> pd.DataFrame:
    """The runs DataFrame: run_id, run_dir, and every column of the rows."""
    df = pd.DataFrame(list(rows))
    df.insert(0, "run_id", np.arange(len(df), dtype=np.int64))
    df["run_dir"] = [f"/runs/{i}" for i in df["run_id"]]
    df["sweep_dir"] = "/runs"
    if not phase_column:
        df = df.drop(columns=["phase", "sweep"])
    return df


def curves(runs: pd.DataFrame, steps: Sequence[int] = (100, 200, 300)) -> pd.DataFrame:
    """FID evaluations per run falling linearly to its final FID (diverged runs stop early)."""
    rows = []
    for _, r in runs.iterrows():
        final = r["final_fid"] if np.isfinite(r["final_fid"]) else 80.0
        last = len(steps) if r["status"] == "completed" else 2
        for j, step in enumerate(steps[:last]):
            value = final + 10.0 * (len(steps) - 1 - j)
            rows.append({"run_id": r["run_id"], "step": step, "epoch": None, "wall_s": float(j),
                         "train_s": float(j), "metric": "fid", "value": value})
    return pd.DataFrame(rows)
