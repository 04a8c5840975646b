"""`gan-analyze`: tables and plots of GAN benchmark sweeps, from their files alone.

    gan-analyze collect SWEEP_DIR... [--out DIR]      runs.parquet + curves.parquet (+ a summary)
    gan-analyze best SWEEP_DIR [--out FILE] [--json]  the best sample per objective (phase 3's input)
    gan-analyze table SOURCE... [--format md|csv|tex] [--out DIR]
    gan-analyze plot SOURCE... --out DIR [--only budget ...] [--individual]
    gan-analyze report SOURCE... --out DIR            all of it, with DIR/index.md

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
    import pandas as pd

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


def _add_analysis(p: argparse.ArgumentParser) -> None:
    # table / plot / report: which phase, and the bootstrap behind the budget curves' bands
    p.add_argument("--phase", nargs="+", default=None, metavar="PHASE",
                   help="only these phases (the runs' `phase`, e.g. phase1_wide); without it "
                        "every phase gets its own panels and sections, never pooled")
    p.add_argument("--boot", "--draws", dest="boot", type=int, default=1000,
                   help="bootstrap resamples of the runs behind each budget curve's band "
                        "(the curve itself is exact)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")


def _phase_filter(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of --phase (all without it); exit 2 when none is left."""
    from analysis.stats import phase_keys

    if not args.phase:
        return runs
    runs = runs[phase_keys(runs).isin(args.phase)]
    if runs.empty:
        parser.exit(2, "gan-analyze: error: no runs left after --phase\n")
    return runs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-analyze", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("collect", help="read run dirs into runs.parquet and curves.parquet")
    _add_sources(p)
    p.add_argument("--out", type=Path, default=Path(DEFAULT_COLLECT_OUT),
                   help=f"output directory (default ./{DEFAULT_COLLECT_OUT})")

    p = sub.add_parser("best", help="the best sample per objective x dataset: phase 3's input")
    _add_sources(p)
    p.add_argument("--fid", choices=("best", "final"), default="best",
                   help="per-run FID: the lowest over its evaluations (default: the study's "
                        "rule) or the last one")
    p.add_argument("--out", type=Path, default=None,
                   help="write the selection file that phase 3 takes (best=FILE)")
    p.add_argument("--json", action="store_true", help="print the selection as JSON")

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
    _add_analysis(p)

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
    _add_analysis(p)

    p = sub.add_parser("report", help="every table and plot, with an index.md")
    _add_sources(p)
    _add_fid(p)
    _add_filters(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--individual", action=argparse.BooleanOptionalAction, default=None,
                   help="FID over training: draw every run too (default: only for <= 5 runs)")
    _add_analysis(p)
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
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


def _best(parser: argparse.ArgumentParser, args: argparse.Namespace,
          collection: Collection) -> None:
    from analysis.best import SelectionProblem, best_settings, dumps, render, write

    try:
        best = best_settings(collection.runs, args.fid)
    except SelectionProblem as e:
        parser.exit(2, f"gan-analyze best: error: {e}\n")
    print(dumps(best) if args.json else render(best, args.fid))
    if args.out:
        write(best, args.out, args.fid, args.sources)
        print(f"selection written to {args.out}: rerun it with `gan-train +sweep=phase3_seeds "
              f"best={args.out}`", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)

    collection = _load(parser, args)

    if args.command == "collect":
        from analysis.collect import save

        out = save(collection, args.out)
        print(f"{out / 'runs.parquet'} ({len(collection.runs):,} runs)")
        print(f"{out / 'curves.parquet'} ({len(collection.curves):,} rows)")
        return

    if args.command == "best":
        _best(parser, args, collection)
        return

    if args.command == "table":
        from analysis.report import render_tables, write_tables
        from analysis.stats import split_phases

        runs = _phase_filter(parser, args, collection.runs)
        try:
            print(render_tables(runs, args.what, args.format, args.fid, args.alpha))
        except ValueError as e:
            parser.error(str(e))
        if args.out:
            split = split_phases(runs)
            names = []
            for phase, sub in split:
                out = args.out / phase if len(split) > 1 and phase else args.out
                written = write_tables(sub, out, args.fid, args.alpha, args.boot, args.seed)
                names += [str(p) for ps in written.files.values() for p in ps]
            print(f"tables written to {args.out}: {', '.join(names)}", file=sys.stderr)
        return

    if args.command == "plot":
        from analysis.plots import PLOTS, plot_all

        runs = _phase_filter(parser, args, collection.runs)
        curves = collection.curves[collection.curves["run_id"].isin(runs["run_id"])]
        results = plot_all(runs, curves, args.out, fid=args.fid, boot=args.boot, seed=args.seed,
                           individual=args.individual,
                           which=tuple(args.only) if args.only else PLOTS)
        for r in results:
            if r.files:
                print("\n".join(str(f) for f in r.files))
            else:
                print(f"{r.name}: {r.note}", file=sys.stderr)
        return

    if args.command == "report":
        from analysis.collect import Collection
        from analysis.report import build_report

        runs = _phase_filter(parser, args, collection.runs)
        collection = Collection(runs, collection.curves[collection.curves["run_id"].isin(
            runs["run_id"])], collection.summary)
        index = build_report(collection, args.out, fid=args.fid, boot=args.boot,
                             seed=args.seed, individual=args.individual, alpha=args.alpha)
        print(index)
        return


if __name__ == "__main__":
    main()
