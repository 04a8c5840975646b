"""Print FID over training for a run, or a table of every run in a sweep, from their files.

    python -m analysis.summary RUN_DIR_OR_SWEEP_DIR [...]

Reads `metrics.jsonl`, `result.json` and the run's `config.yaml`; never the training code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml


def read_run(run_dir: Path) -> tuple[list[dict], dict | None]:
    """(evaluations from metrics.jsonl, result.json or None if the run has not finished)."""
    metrics_path, result_path = run_dir / "metrics.jsonl", run_dir / "result.json"
    evals = []
    if metrics_path.exists():
        for n, line in enumerate(metrics_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                evals.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"warning: {metrics_path}:{n} is not valid JSON (a truncated write?); skipped")
    result = None
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except json.JSONDecodeError:
            print(f"warning: {result_path} is not valid JSON; the run counts as unfinished")
    return evals, result


def format_run(run_dir: Path) -> str:
    evals, result = read_run(run_dir)
    lines = [f"run: {run_dir}"]
    fids = [e for e in evals if "fid" in e]
    if fids:
        p = fids[0]
        lines.append(f"FID over training (extractor={p['extractor']}, n_gen={p['n_gen']}, "
                     f"n_real={p['n_real']}, reference={p['reference_split']}):")
        lines.append(f"  {'step':>7} {'FID':>10} {'wall s':>8}")
        lines += [f"  {e['step']:>7} {e['fid']:>10.3f} {e['wall_s']:>8.1f}" for e in fids]
        if isinstance(p.get("fid_floor"), float):
            lines.append(f"  real-vs-real floor {p['fid_floor']:.3f} (real images of the other "
                         "split against the same reference: what a perfect generator scores)")
    if result is None:
        lines.append("status: unfinished (no result.json)")
    else:
        lines.append(f"status: {result['status']}  best FID {result.get('best_fid')} at step "
                     f"{result.get('best_step')}  wall {result.get('wall_s', 0):.1f} s")
        if result.get("error"):
            lines.append(f"error: {result['error']}")
    lines.append(f"files: {run_dir / 'metrics.jsonl'}, {run_dir / 'result.json'}")
    return "\n".join(lines)


def _run_row(run_dir: Path) -> dict[str, Any]:
    evals, result = read_run(run_dir)
    result = result or {"status": "unfinished"}
    cfg_path = run_dir / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text()) if cfg_path.exists() else {}
    gan = cfg.get("gan", {})
    fids = [e for e in evals if "fid" in e]
    return {
        "dataset": result.get("dataset", cfg.get("dataset", {}).get("name")),
        "gan": result.get("gan", gan.get("name")),
        "lr": gan.get("lr"),
        "seed": result.get("seed", cfg.get("seed")),
        "status": result["status"],
        "first_fid": fids[0]["fid"] if fids else None,
        "final_fid": result.get("final_fid"),
        "best_fid": result.get("best_fid"),
        "wall_s": result.get("wall_s"),
        "run": run_dir.name,
    }


def format_sweep(sweep_dir: Path, run_dirs: list[Path]) -> str:
    table = pd.DataFrame([_run_row(d) for d in run_dirs]).sort_values(["dataset", "gan", "lr", "seed"])
    table["lr"] = table["lr"].map("{:.1e}".format)
    table["seed"] = table["seed"].astype("Int64")
    protocols = {}  # every number is labelled with the protocol that produced it
    for d, dataset in zip(run_dirs, table.sort_index().dataset, strict=True):
        evals, _ = read_run(d)
        if dataset not in protocols and evals and "fid" in evals[-1]:
            e = evals[-1]
            protocols[dataset] = (f"FID on {dataset}: extractor={e['extractor']}, n_gen={e['n_gen']}, "
                                  f"n_real={e['n_real']}, reference={e['reference_split']}"
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
        runs = sorted(p.parent for p in d.glob("*/.hydra"))
        if (d / "metrics.jsonl").exists() or (d / "result.json").exists():
            print(format_run(d))
        elif runs:
            print(format_sweep(d, runs))
        else:
            parser.error(f"{d} holds neither a run (metrics.jsonl, result.json) nor run directories")


if __name__ == "__main__":
    main()
