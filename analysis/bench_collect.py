"""Time `collect` on a synthetic phase-1-like sweep (default 10,000 runs).

    python -m analysis.bench_collect [--runs 10000] [--jobs N] [--dir DIR]
    gan-analyze bench [--runs 10000]

Builds the run dirs in a temporary directory (or DIR, kept for reuse), then times reading them
into the two tables, and writing them as Parquet, separately. The files are in the page cache
after writing them; a cold read from a network file system takes longer.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analysis.collect import collect, default_jobs, save
from perf.synthetic import make_benchmark_sweep


def _cpu_s() -> float:
    # CPU seconds of this process and its finished children (the reader pool): a figure that
    # stays put when other work shares the cores, unlike the wall time
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench(n_runs: int = 10_000, jobs: int | None = None, directory: Path | None = None) -> dict[str, float]:
    """{"build_s", "collect_s", "collect_cpu_s", "write_s", "runs", "curve_rows", "summary"}
    for a synthetic sweep."""
    with tempfile.TemporaryDirectory(prefix="ganbench-bench-") as tmp:
        sweep = Path(directory) if directory else Path(tmp) / "sweep"
        t0 = time.perf_counter()
        if not (sweep / "multirun.yaml").exists():
            make_benchmark_sweep(sweep, n_runs)
        t1 = time.perf_counter()
        cpu0 = _cpu_s()
        collection = collect([sweep], jobs=jobs)
        t2 = time.perf_counter()
        cpu = _cpu_s() - cpu0
        save(collection, Path(tmp) / "collected")
        t3 = time.perf_counter()
        return {"build_s": t1 - t0, "collect_s": t2 - t1, "collect_cpu_s": cpu, "write_s": t3 - t2,
                "runs": float(len(collection.runs)), "curve_rows": float(len(collection.curves)),
                "summary": collection.summary.text(max_problems=3)}  # type: ignore[dict-item]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000, help="synthetic runs (default 10000)")
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"reader processes (default: {default_jobs()} here)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="build the sweep here and keep it (reused when it exists)")
    args = parser.parse_args(argv)
    r = bench(args.runs, args.jobs, args.dir)
    print(r["summary"])
    print(f"built {int(r['runs']):,} run dirs in {r['build_s']:.1f} s (not timed below)")
    print(f"collect: {r['collect_s']:.2f} s for {int(r['runs']):,} runs "
          f"({int(r['curve_rows']):,} curve rows; {r['collect_cpu_s']:.2f} CPU s); "
          f"Parquet write: {r['write_s']:.2f} s")


if __name__ == "__main__":
    main()
