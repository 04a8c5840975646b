"""6. `collect` of 10,000 synthetic runs (perf/synthetic.py: a phase-1-like sweep written by the
real writers) against the obvious loop: json.loads of every run's result.json, config.json and
metrics.jsonl into two pandas tables. Report only, printed as the ratio; the final FIDs must
agree. The issue's bar: no slower than before the run-directory change (2.3-2.9 s wall,
3.6-3.9 CPU s for 10,000 runs on the 2-core machine of docs/performance.md).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.collect import collect, save
from benchmark import rundir
from perf.measure import Row, cpu_s, fmt_s, fmt_x, timed
from perf.synthetic import make_benchmark_sweep

RUNS = 10_000


def naive_collect(sweep: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The obvious loop: per run dir, json.loads of result.json, config.json and metrics.jsonl
    into two pandas tables (runs, curves). Unreadable runs are skipped."""
    runs, curves = [], []
    for result_file in sorted(sweep.glob(f"*/{rundir.RESULT_FILE}")):
        d = result_file.parent
        try:
            result = json.loads(result_file.read_text())
            config = json.loads((d / rundir.CONFIG_FILE).read_text())
            lines = [json.loads(s) for s in (d / rundir.METRICS_FILE).read_text().splitlines() if s]
        except (OSError, ValueError):
            continue
        runs.append({"run": d.name, **pd.json_normalize(config).iloc[0].to_dict(),
                     **{k: v for k, v in result.items() if not isinstance(v, dict | list)}})
        for rec in lines:
            curves.extend({"run": d.name, "step": rec.get("step"), "metric": k, "value": v}
                          for k, v in rec.items() if k == "fid")
    return pd.DataFrame(runs), pd.DataFrame(curves)


def agreement(ours: pd.DataFrame, peer: pd.DataFrame) -> tuple[int, int, int]:
    """(completed runs in the peer, how many of them ours has with the same final FID, completed
    runs in ours). Ours also keeps runs whose metrics.jsonl has a cut line, which the peer drops."""
    done = ours[ours["status"] == "completed"]
    mine = {Path(d).name: float(v) for d, v in zip(done["run_dir"], done["final_fid"], strict=True)}
    theirs = peer[peer["status"] == "completed"]
    same = sum(1 for run, v in zip(theirs["run"], theirs["final_fid"], strict=True)
               if run in mine and math.isclose(mine[run], float(v), rel_tol=1e-12))
    return len(theirs), same, len(mine)


def run(quick: bool, workdir: Path, n_runs: int = RUNS) -> list[Row]:
    sweep = workdir / "sweep"
    t_build = timed(lambda: make_benchmark_sweep(sweep, n_runs))[0]
    walls: dict[str, list[float]] = {"ours": [], "peer": []}
    cpus: list[float] = []
    out: dict[str, Any] = {}
    for _ in range(1 if quick else 2):  # in turns, as interleave(), with ours' CPU seconds
        c0, w0 = cpu_s(), time.perf_counter()
        out["ours"] = collect([sweep])
        walls["ours"].append(time.perf_counter() - w0)
        cpus.append(cpu_s() - c0)
        w0 = time.perf_counter()
        out["peer"] = naive_collect(sweep)
        walls["peer"].append(time.perf_counter() - w0)
    t_write = timed(lambda: save(out["ours"], workdir / "collected"))[0]
    t_ours, t_peer = min(walls["ours"]), min(walls["peer"])
    n_peer, n_same, n_ours = agreement(out["ours"].runs, out["peer"][0])
    ok = n_same == n_peer > 0
    shutil.rmtree(sweep, ignore_errors=True)
    return [Row(f"6. collect {n_runs:,} synthetic runs (json.loads loop into pandas)",
                fmt_s(t_ours), fmt_s(t_peer), fmt_x(t_peer / t_ours), "report only",
                f"final FID identical for {n_same:,}/{n_peer:,} completed runs the peer read "
                f"(ours: {n_ours:,}, incl. cut metrics lines); {len(out['ours'].curves):,} curve "
                f"rows; collect {min(cpus):.2f} CPU s; Parquet write {t_write:.2f} s; sweep "
                f"built in {t_build:.0f} s",
                holds=None if ok else False, correct=ok,
                numbers={"t_ours": walls["ours"], "t_peer": walls["peer"], "cpu_ours": cpus,
                         "t_write": t_write, "runs": n_runs, "t_build": t_build})]
