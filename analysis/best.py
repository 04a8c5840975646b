"""`gan-analyze best SWEEP_DIR`: the best hyperparameter sample of each objective x dataset x
FID protocol in a search (phase 1 or 2), by the study's rule, as the file phase 3 reruns.

    gan-analyze best multirun/phase1_wide                       a table
    gan-analyze best multirun/phase1_wide --json                a JSON list
    gan-analyze best multirun/phase1_wide --out best.json       the selection file phase 3 takes
    gan-train +sweep=phase3_seeds best=best.json launcher=slurm

The study's rule (compare_gan's BestFIDPerModel, docs/reproduce.md): each run scores the lowest
FID over all of its evaluations (`--fid best`, the default here); `--fid final` scores its last
one. The run with the lowest score wins; ties go to the lower sample index. Only runs that
completed are candidates: a diverged run's earlier FIDs belong to a model that broke.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark import selection

RULES = {
    "best": "lowest FID over all evaluations of each run (the study's BestFIDPerModel)",
    "final": "FID at the last evaluation of each run",
}
COLUMNS = {"best": "best_fid", "final": "final_fid"}
KEYS = ("gan", "dataset", "protocol")


class SelectionProblem(ValueError):
    """The runs cannot be selected from (no samples, several phases, nothing completed)."""


def _value(row: pd.Series, column: str) -> Any:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def best_settings(runs: pd.DataFrame, fid: str = "best") -> pd.DataFrame:
    """One row per (gan, dataset, protocol): the selected run's gan, dataset, protocol, sample,
    fid, seed, search, features_target, setting, run_dir, n_candidates, and its hp.* values."""
    if fid not in COLUMNS:
        raise SelectionProblem(f"--fid {fid}: use one of {', '.join(COLUMNS)}")
    if "phase" in runs and runs["phase"].nunique(dropna=False) > 1:
        phases = ", ".join(sorted(map(str, runs["phase"].dropna().unique())))
        raise SelectionProblem(f"the runs come from several phases ({phases}): select from one "
                               "search sweep (its directory, or --phase)")
    candidates = runs[(runs["status"] == "completed") & runs["sample"].notna()].copy()
    candidates["_fid"] = pd.to_numeric(candidates[COLUMNS[fid]], errors="coerce")
    candidates = candidates[candidates["_fid"].map(lambda x: math.isfinite(x))]
    if candidates.empty:
        raise SelectionProblem("no completed run with a hyperparameter sample and a finite FID: "
                               "nothing to select (is this a search sweep: sample=range(...)?)")
    ordered = candidates.sort_values(["_fid", "sample", "seed"], kind="mergesort")
    rows = []
    for _, group in ordered.groupby(list(KEYS), sort=True):
        top = group.iloc[0]
        row = {key: _value(top, key) for key in KEYS}
        row.update(sample=int(top["sample"]), fid=float(top["_fid"]), fid_rule=fid,
                   seed=_value(top, "seed"), search=_value(top, "search.name"),
                   features_target=_value(top, "features._target_"),
                   setting=_value(top, "setting"), run_dir=_value(top, "run_dir"),
                   n_candidates=len(group))
        row.update({c: _value(top, c) for c in top.index if c.startswith("hp.")})
        rows.append(row)
    return pd.DataFrame(rows)


def to_selection(best: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as plain JSON-ready dicts (hp.* gathered into `hparams`)."""
    out = []
    for rec in best.to_dict("records"):
        hparams = {k[3:]: v for k, v in rec.items() if k.startswith("hp.") and v is not None
                   and not (isinstance(v, float) and math.isnan(v))}
        entry = {k: v for k, v in rec.items() if not k.startswith("hp.")}
        entry["hparams"] = hparams
        out.append(entry)
    return out


def write(best: pd.DataFrame, path: str, fid: str, sources: Sequence[str]) -> None:
    """The selection file phase 3 takes (benchmark/selection.py owns its format)."""
    selection.write(path, to_selection(best), rule=fid, rule_text=RULES[fid],
                    sources=[str(s) for s in sources])


def render(best: pd.DataFrame, fid: str) -> str:
    """A Markdown table of the selection, with the rule that made it."""
    shown = best[["dataset", "protocol", "gan", "sample", "fid", "seed", "n_candidates"]].rename(
        columns={"fid": f"FID ({fid})", "n_candidates": "runs"})
    return (shown.to_markdown(index=False, floatfmt=".4g")
            + f"\n\nSelected by the {RULES[fid]}; ties go to the lower sample; completed runs only.")


def dumps(best: pd.DataFrame) -> str:
    return json.dumps(to_selection(best), indent=2, default=str)
