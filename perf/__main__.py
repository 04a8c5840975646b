"""`python -m perf [--quick]` (= `make bench`): the harness's hot paths against a peer that does
the same work, as one table: case, ours, peer, ratio, target, correctness.

Every figure is a ratio measured in this one process against its peer, the two interleaved
(ours, peer, ours, peer, ...) and repeated, so that load from other processes hits both alike;
the table reports the best (least disturbed) repeat of each. The training step instead runs
(harness, bare) pairs back to back and reports the median over pairs of the ratio of median
per-step CPU times. Every case also checks that ours and the peer compute the same thing (the
"correctness" column; tests/test_perf.py runs those checks small). The header names the
machine and its load average.

    python -m perf --quick                       # a few minutes on 2 CPU cores
    python -m perf --scale --json perf.json      # the full run (~25 min), + the study on paper
    python -m perf --cases frechet,collect       # some cases only

docs/performance.md holds a table measured with it, the targets, and the study's cost on paper.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from perf.cases import CASES, DEFAULT, SKIPPED_WHEN_QUICK, runner
from perf.measure import Row, machine, print_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, fewer repeats; no torch.compile, no --scale")
    parser.add_argument("--cases", default=",".join(DEFAULT),
                        help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--scale", action="store_true",
                        help="also the study's phase 1 on paper (every objective's step cost "
                             "at every dataset's shape: minutes)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw numbers here")
    args = parser.parse_args(argv)
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; valid: {', '.join(CASES)}")
    if args.scale and "scale" not in wanted:
        wanted.append("scale")
    if args.quick:
        wanted = [c for c in wanted if c not in SKIPPED_WHEN_QUICK]

    info = machine()
    print(f"ganbench perf ({'quick' if args.quick else 'full'}) | {info['cpu']} | {info['cores']} "
          f"cores, torch threads {info['torch_threads']} | torch {info['torch']}, numpy "
          f"{info['numpy']}, scipy {info['scipy']}, python {info['python']} | {info['device']} | "
          f"commit {info.get('commit', '?')} | load avg {info['load_avg_start']:.2f}", flush=True)
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ganbench-perf-") as tmp:
        # A private cache: timings never depend on (or add to) the user's cached artefacts.
        os.environ["GANBENCH_CACHE"] = str(Path(tmp) / "cache")
        for name in wanted:
            t0 = time.perf_counter()
            try:
                new = runner(name)(args.quick, Path(tmp))
            except Exception as e:  # one broken case must not hide the others' numbers
                new = [Row(name, "error", "", "", "", f"{type(e).__name__}: {e}", holds=False,
                           correct=False)]
            rows += new
            print(f"  [{name}: {time.perf_counter() - t0:.0f} s] "
                  + " / ".join(f"{r.ours} vs {r.peer}" for r in new), flush=True)
    info["load_avg_end"] = os.getloadavg()[0]
    info["seconds"] = time.perf_counter() - started
    print()
    print_table(rows)
    print(f"\n{info['seconds']:.0f} s; load average {info['load_avg_start']:.2f} at the start, "
          f"{info['load_avg_end']:.2f} at the end ({info['cores']} cores)")
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, "quick": args.quick,
                                         "rows": [asdict(r) for r in rows]},
                                        indent=2, default=float) + "\n")
    # Speed targets depend on the machine; a disagreement between ours and the peer does not.
    return 0 if all(r.correct for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
