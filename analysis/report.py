"""`gan-analyze report SWEEP_DIR... --out OUT_DIR`: every table and plot, and an index.md that
shows them with one line of explanation each.

    OUT_DIR/index.md                       start here
    OUT_DIR/data/{runs,curves}.parquet     the collected tables (reload: gan-analyze table OUT_DIR/data)
    OUT_DIR/tables/*.{md,csv,tex}          best FID, best settings, mode coverage, significance, budget
    OUT_DIR/plots/*.{png,pdf}              FID distribution, budget, FID over training, P/R, toys
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.collect import Collection, save
from analysis.plots import PlotResult, plot_all
from analysis.stats import FID_DESCRIPTIONS, budget_curves
from analysis.tables import (
    best_fid_table,
    mode_coverage_table,
    phase3_snippet,
    significance_table,
)


def write_tables(collection: Collection, out_dir: Path, fid: str = "final",
                 alpha: float = 0.05) -> dict[str, list[Path]]:
    """Best FID (+ the study's), best settings, mode coverage (when runs recorded it) and
    significance in md/csv/tex under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = collection.runs
    best = best_fid_table(runs, fid)
    tests, sig = significance_table(runs, fid, alpha)
    written: dict[str, list[Path]] = {}

    def put(name: str, text: str) -> Path:
        path = out_dir / name
        path.write_text(text)
        written.setdefault(name.rsplit(".", 1)[0], []).append(path)
        return path

    def put_csv(name: str, frame: pd.DataFrame) -> None:
        put(name, frame.to_csv(index=False))

    put("best_fid.md", best.table.markdown())
    put("best_fid.tex", best.table.latex())
    put_csv("best_fid.csv", best.tidy)
    ours = best.tidy[best.tidy["source"] == "ours"]
    snippet = phase3_snippet(ours)
    settings_md = best.settings.markdown()
    if snippet:
        settings_md += ("\nFor sweeps/phase3_seeds.yaml (the best `sample` per objective and "
                        "dataset):\n\n```yaml\n" + snippet + "```\n")
    put("best_settings.md", settings_md)
    put_csv("best_settings.csv", ours.drop(columns=["source"]))
    modes = mode_coverage_table(runs)
    if modes is not None:
        put("modes.md", modes[1].markdown())
        put("modes.tex", modes[1].latex())
        put_csv("modes.csv", modes[0])
    put("significance.md", sig.markdown())
    put("significance.tex", sig.latex())
    put_csv("significance.csv", tests)
    return written


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def build_report(collection: Collection, out_dir: str | Path, fid: str = "final",
                 draws: int = 5000, seed: int = 0, individual: bool | None = None,
                 alpha: float = 0.05) -> Path:
    """Write data, tables, plots and index.md into out_dir; returns the index.md path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = save(collection, out / "data")
    tables = write_tables(collection, out / "tables", fid, alpha)
    budget = budget_curves(collection.runs, fid, draws, seed)
    budget_csv = out / "tables" / "budget.csv"
    budget.to_csv(budget_csv, index=False)
    plots: list[PlotResult] = plot_all(collection.runs, collection.curves, out / "plots", fid=fid,
                                       draws=draws, seed=seed, individual=individual,
                                       budget=budget)

    s = collection.summary
    lines = ["# GAN benchmark report", "",
             f"Sources: {', '.join(f'`{x}`' for x in s.sources)}. Scores: {FID_DESCRIPTIONS[fid]}.",
             "", "```", s.text(max_problems=20), "```", ""]

    def section(title: str, intro: str, name: str) -> list[str]:
        # the table without its own "### title" line, under the section's heading and intro
        table = (out / "tables" / f"{name}.md").read_text().split("\n", 2)[2]
        files = ", ".join(f"[{p.name}]({_rel(p, out)})" for p in tables[name])
        return [f"## {title}", "", intro, "", table, "", f"Files: {files}", ""]

    lines += section("Best FID per objective and dataset",
                     "Our best FID beside the numbers published by Lucic et al. (2018); the notes "
                     "say which columns can be compared.", "best_fid")
    lines += section("Best settings",
                     "The hyperparameter setting behind each number above (what phase 3 reruns "
                     "with many seeds).", "best_settings")
    lines += section("Do the objectives differ?",
                     "Pairwise Mann-Whitney U tests on the per-run FID, Holm-corrected.",
                     "significance")
    if "modes" in tables:
        lines += section("Mode coverage on the 2-D toys",
                         "How many of the toy's modes each objective's runs cover, and how much "
                         "of their mass lands near a mode (the scatter plots are under Plots).",
                         "modes")
    lines += ["## Plots", ""]
    for p in plots:
        title = p.title or p.name.replace("_", " ")
        if p.files:
            png = next((f for f in p.files if f.suffix == ".png"), p.files[0])
            others = ", ".join(f"[{f.suffix[1:].upper()}]({_rel(f, out)})" for f in p.files)
            lines += [f"### {title}", "", p.caption, "", f"![{title}]({_rel(png, out)})", "",
                      f"Files: {others}", ""]
        else:
            lines += [f"### {title}", "", f"Not drawn: {p.note}.", ""]
        if p.name == "budget":
            lines += [f"The budget curves' numbers: [budget.csv]({_rel(budget_csv, out)}) (mean, "
                      "median and the 95% band of the minimum FID for each k).", ""]
    lines += ["## Data", "",
              "The collected tables, for your own analysis (`pandas.read_parquet`); "
              "`curves.run_id` joins `runs.run_id`:", ""]
    for name in sorted(data_dir.iterdir()):
        lines.append(f"- [{name.name}]({_rel(name, out)})")
    lines.append("")
    index = out / "index.md"
    index.write_text("\n".join(lines))
    return index


def report(sources: Sequence[str | Path], out_dir: str | Path, fid: str = "final",
           draws: int = 5000, jobs: int | None = None) -> Path:
    """Collect `sources` and build the report; returns index.md's path."""
    from analysis.collect import load

    return build_report(load(sources, jobs=jobs), out_dir, fid=fid, draws=draws)
