"""Print FID over training for a run, or a table of every run in a sweep, from their files.

    python -m analysis.summary RUN_DIR_OR_SWEEP_DIR [...]

Reads the run files through their one reader (benchmark/rundir.py); never the training code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark import rundir


def _fids(run: rundir.RunFiles) -> list[dict[str, Any]]:
    return [e for e in run.evaluations if rundir.number(e.get("fid")) is not None]


def format_run(run_dir: Path) -> str:
    run = rundir.load(run_dir) or rundir.RunFiles(str(run_dir), rundir.UNFINISHED)
    lines = [f"run: {run_dir}"]
    fids = _fids(run)
    if fids:
        p = fids[0]
        lines.append(f"FID over training (extractor={p.get('extractor')}, n_gen={p.get('n_gen')}, "
                     f"n_real={p.get('n_real')}, reference={p.get('reference_split')}):")
        lines.append(f"  {'step':>7} {'FID':>10} {'wall s':>8}")
        lines += [f"  {e['step']:>7} {rundir.number(e['fid']):>10.3f} "
                  f"{rundir.number(e.get('wall_s')) or 0:>8.1f}" for e in fids]
        if isinstance(p.get("fid_floor"), float):
            lines.append(f"  real-vs-real floor {p['fid_floor']:.3f} (real images of the other "
                         "split against the same reference: what a perfect generator scores)")
    result = run.result
    if result is None:
        lines.append(f"status: {run.status} (no readable result.json)")
    else:
        lines.append(f"status: {result['status']}  best FID {result.get('best_fid')} at step "
                     f"{result.get('best_step')}  wall {rundir.number(result.get('wall_s')) or 0:.1f} s")
        if result.get("error"):
            lines.append(f"error: {result['error']}")
    lines += [f"warning: {p}" for p in run.problems]
    lines.append(f"files: {run_dir / rundir.METRICS_FILE}, {run_dir / rundir.RESULT_FILE}")
    return "\n".join(lines)


def _run_row(run: rundir.RunFiles) -> dict[str, Any]:
    result, cfg = run.result or {}, run.config
    fids = _fids(run)
    return {
        "dataset": result.get("dataset", cfg.get("dataset.name")),
        "gan": result.get("gan", cfg.get("gan.name")),
        "lr": cfg.get("gan.lr"),
        "seed": result.get("seed", cfg.get("seed")),
        "status": run.status,
        "first_fid": rundir.number(fids[0]["fid"]) if fids else None,
        "final_fid": rundir.number(result.get("final_fid")),
        "best_fid": rundir.number(result.get("best_fid")),
        "wall_s": rundir.number(result.get("wall_s")),
        "run": Path(run.path).name,
    }


def format_sweep(sweep_dir: Path, run_dirs: list[Path]) -> str:
    runs = [rundir.load(d) or rundir.RunFiles(str(d), rundir.UNFINISHED) for d in run_dirs]
    table = pd.DataFrame([_run_row(r) for r in runs]).sort_values(["dataset", "gan", "lr", "seed"])
    table["lr"] = table["lr"].map("{:.1e}".format)
    table["seed"] = table["seed"].astype("Int64")
    protocols = {}  # every number is labelled with the protocol that produced it
    for run, dataset in zip(runs, table.sort_index().dataset, strict=True):
        fids = _fids(run)
        if dataset not in protocols and fids:
            e = fids[-1]
            protocols[dataset] = (f"FID on {dataset}: extractor={e.get('extractor')}, "
                                  f"n_gen={e.get('n_gen')}, n_real={e.get('n_real')}, "
                                  f"reference={e.get('reference_split')}"
                                  + (f"; real-vs-real floor {e['fid_floor']:.3f}"
                                     if isinstance(e.get("fid_floor"), float) else ""))
    protocol = "\n".join(protocols[k] for k in sorted(protocols))
    per_objective = (table[table.status == "completed"]
                     .groupby(["dataset", "gan"])["final_fid"]
                     .agg(runs="count", median="median", best="min"))
    counts = table.status.value_counts().to_dict()
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.float_format", "{:.3f}".format):
        return "\n".join([
            f"sweep: {sweep_dir}  ({len(table)} runs: "
            + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")",
            protocol, "",
            table.drop(columns=["run"]).to_string(index=False), "",
            "final FID per objective (completed runs):", per_objective.to_string(), "",
            f"run files: {sweep_dir}/<run>/metrics.jsonl, result.json, samples/",
        ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", type=Path, help="run or sweep directories")
    args = parser.parse_args(argv)
    for d in args.dirs:
        if not d.is_dir():
            parser.error(f"{d} is not a directory")
        runs = sorted(p for p in d.iterdir() if p.is_dir() and rundir.is_run_dir(p))
        if (d / rundir.METRICS_FILE).exists() or (d / rundir.RESULT_FILE).exists():
            print(format_run(d))
        elif runs:
            print(format_sweep(d, runs))
        else:
            parser.error(f"{d} holds neither a run (metrics.jsonl, result.json) nor run directories")


if __name__ == "__main__":
    main()
