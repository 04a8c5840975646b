"""`gan-analyze`: tables and plots of GAN benchmark sweeps, from their files alone.

    gan-analyze collect SWEEP_DIR... [--out DIR]      runs.parquet + curves.parquet (+ a summary)
    gan-analyze table SOURCE... [--format md|csv|tex] [--out DIR]
    gan-analyze plot SOURCE... --out DIR [--only budget ...] [--individual]
    gan-analyze report SOURCE... --out DIR            all of it, with DIR/index.md
    gan-analyze bench [--runs 10000]                  time `collect` on synthetic runs

SOURCE is a sweep dir (or several, or a run dir, or a folder of sweeps), or a directory that
`collect --out` wrote. Diverged runs count as FID +inf; failed and unfinished runs are left
out and counted in the summary. Exit status 2 when a source is no directory or holds no runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.collect import default_jobs

if TYPE_CHECKING:
    from analysis.collect import Collection

DEFAULT_COLLECT_OUT = "results"


def _add_sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", type=Path, metavar="SOURCE",
                   help="sweep dir(s), run dir(s), or a directory written by `collect --out`")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"reader processes for large sweeps (default {default_jobs()} here)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gans", nargs="+", default=None, metavar="GAN",
                   help="only these objectives (e.g. ns_gan wgan_gp)")
    p.add_argument("--datasets", nargs="+", default=None, metavar="DATASET",
                   help="only these datasets")


def _add_fid(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fid", choices=("final", "best"), default="final",
                   help="per-run FID: the last evaluation (default) or the best during training")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-analyze", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("collect", help="read run dirs into runs.parquet and curves.parquet")
    _add_sources(p)
    p.add_argument("--out", type=Path, default=Path(DEFAULT_COLLECT_OUT),
                   help=f"output directory (default ./{DEFAULT_COLLECT_OUT})")

    p = sub.add_parser("table", help="best FID per objective x dataset, and significance")
    _add_sources(p)
    _add_fid(p)
    _add_filters(p)
    p.add_argument("--format", choices=("md", "csv", "tex"), default="md",
                   help="what to print (default md)")
    p.add_argument("--what", choices=("best", "settings", "significance", "modes", "all"),
                   default="all", help="modes: mode coverage on the 2-D toys (all: when recorded)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--out", type=Path, default=None,
                   help="also write every table in every format into this directory")

    p = sub.add_parser("plot", help="the study's figures as PNG and PDF")
    _add_sources(p)
    _add_fid(p)
    _add_filters(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--only", nargs="+", default=None,
                   choices=("distribution", "budget", "curves", "precision_recall", "toys"),
                   help="draw only these plots")
    p.add_argument("--individual", action=argparse.BooleanOptionalAction, default=None,
                   help="FID over training: draw every run too (default: only when an objective "
                        "has at most 5 runs per dataset)")
    p.add_argument("--draws", type=int, default=5000, help="bootstrap draws per budget curve")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")

    p = sub.add_parser("report", help="every table and plot, with an index.md")
    _add_sources(p)
    _add_fid(p)
    _add_filters(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--individual", action=argparse.BooleanOptionalAction, default=None,
                   help="FID over training: draw every run too (default: only for <= 5 runs)")
    p.add_argument("--draws", type=int, default=5000, help="bootstrap draws per budget curve")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")

    p = sub.add_parser("bench", help="time collect on a synthetic sweep")
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--dir", type=Path, default=None, help="build (or reuse) the sweep here")
    return parser


def _load(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Collection:
    """The sources' runs (exit 2 when there are none), filtered by --gans/--datasets."""
    from analysis.collect import load, select

    for s in args.sources:
        if not s.is_dir():
            parser.exit(2, f"gan-analyze: error: {s} is not a directory\n")
    collection = load(args.sources, jobs=args.jobs)
    print(collection.summary.text(), file=sys.stderr)
    if collection.runs.empty:
        parser.exit(2, "gan-analyze: error: no run directories (with result.json, metrics.jsonl "
                       "or .hydra/) under " + ", ".join(map(str, args.sources)) + "\n")
    gans, datasets = getattr(args, "gans", None), getattr(args, "datasets", None)
    if gans or datasets:
        collection = select(collection, gans, datasets)
        if collection.runs.empty:
            parser.exit(2, "gan-analyze: error: no runs left after --gans/--datasets\n")
    return collection


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)

    if args.command == "bench":
        from analysis.bench_collect import main as bench_main

        bench_main([f"--runs={args.runs}"] + ([f"--jobs={args.jobs}"] if args.jobs else [])
                   + ([f"--dir={args.dir}"] if args.dir else []))
        return

    collection = _load(parser, args)

    if args.command == "collect":
        from analysis.collect import save

        out = save(collection, args.out)
        print(f"{out / 'runs.parquet'} ({len(collection.runs):,} runs)")
        print(f"{out / 'curves.parquet'} ({len(collection.curves):,} rows)")
        return

    if args.command == "table":
        from analysis.report import write_tables
        from analysis.tables import best_fid_table, mode_coverage_table, significance_table

        runs = collection.runs
        best = best_fid_table(runs, args.fid)
        tests, sig = significance_table(runs, args.fid, args.alpha)
        modes = mode_coverage_table(runs)
        modes_tidy, modes_table = modes if modes is not None else (None, None)
        if args.what == "modes" and modes is None:
            parser.error("no run recorded the modes metric (eval.metrics with modes, 2-D toys)")
        chosen = ("best", "settings", "significance") if args.what == "all" else (args.what,)
        if args.what == "all" and modes is not None:
            chosen += ("modes",)
        parts = []
        for what in chosen:
            if args.format == "csv":
                frame = {"best": best.tidy,
                         "settings": best.tidy[best.tidy["source"] == "ours"],
                         "significance": tests, "modes": modes_tidy}[what]
                parts.append(frame.to_csv(index=False))
            else:
                table = {"best": best.table, "settings": best.settings, "significance": sig,
                         "modes": modes_table}[what]
                parts.append(table.markdown() if args.format == "md" else table.latex())
        print("\n".join(parts))
        if args.out:
            written = write_tables(collection, args.out, args.fid, args.alpha)
            print(f"tables written to {args.out}: "
                  + ", ".join(p.name for ps in written.values() for p in ps), file=sys.stderr)
        return

    if args.command == "plot":
        from analysis.plots import PLOTS, plot_all

        results = plot_all(collection.runs, collection.curves, args.out, fid=args.fid,
                           draws=args.draws, seed=args.seed, individual=args.individual,
                           which=tuple(args.only) if args.only else PLOTS)
        for r in results:
            if r.files:
                print("\n".join(str(f) for f in r.files))
            else:
                print(f"{r.name}: {r.note}", file=sys.stderr)
        return

    if args.command == "report":
        from analysis.report import build_report

        index = build_report(collection, args.out, fid=args.fid, draws=args.draws,
                             seed=args.seed, individual=args.individual, alpha=args.alpha)
        print(index)
        return


if __name__ == "__main__":
    main()
