"""Print one run's FID over training from its files: `python -m analysis.summary RUN_DIR`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_run(run_dir: Path) -> tuple[list[dict], dict | None]:
    """(evaluations from metrics.jsonl, result.json or None if the run has not finished)."""
    metrics_path, result_path = run_dir / "metrics.jsonl", run_dir / "result.json"
    if not metrics_path.exists() and not result_path.exists():
        raise FileNotFoundError(f"{run_dir} holds no metrics.jsonl or result.json: not a run directory")
    evals = []
    if metrics_path.exists():
        for n, line in enumerate(metrics_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                evals.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"warning: {metrics_path}:{n} is not valid JSON (a truncated write?); skipped")
    result = json.loads(result_path.read_text()) if result_path.exists() else None
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
    if result is None:
        lines.append("status: unfinished (no result.json)")
    else:
        lines.append(f"status: {result['status']}  best FID {result.get('best_fid')} at step "
                     f"{result.get('best_step')}  wall {result.get('wall_s', 0):.1f} s")
        if result.get("error"):
            lines.append(f"error: {result['error']}")
    lines.append(f"files: {run_dir / 'metrics.jsonl'}, {run_dir / 'result.json'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        print(format_run(run_dir))


if __name__ == "__main__":
    main()
