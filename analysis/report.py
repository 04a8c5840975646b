"""`gan-analyze report SWEEP_DIR... --out OUT_DIR`: every table and plot, and an index.md that
shows them with one line of explanation each.

    OUT_DIR/index.md                       start here
    OUT_DIR/data/{runs,curves}.parquet     the collected tables (reload: gan-analyze table OUT_DIR/data)
    OUT_DIR/tables/[PHASE/]*.{md,csv,tex}  mode coverage, best FID, best settings, significance, budget
    OUT_DIR/plots/[PHASE/]*.{png,pdf}      FID distribution, budget, FID over training, P/R, toys

Phases are never pooled: a report over several (the runs' `phase` column: phase1_wide,
phase3_seeds, ...) has one section per phase, with its own tables and plots in a subfolder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.budget import budget_curves, pr_budget_curves
from analysis.collect import Collection, save
from analysis.plots import PlotResult, plot_all
from analysis.plots.common import slug
from analysis.stats import FID_DESCRIPTIONS, NO_PHASE, phase_title, split_phases
from analysis.tables import (
    best_fid_table,
    mode_coverage_table,
    significance_table,
)


@dataclass
class WrittenTables:
    """The files written per table name, and one line per table that was not written."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    budget: pd.DataFrame | None = None  # the curves behind budget.csv, for the plots


def write_tables(runs: pd.DataFrame, out_dir: Path, fid: str = "final", alpha: float = 0.05,
                 boot: int = 1000, seed: int = 0) -> WrittenTables:
    """Mode coverage (when runs recorded it), best FID (+ the study's), best settings,
    significance, budget curves, in md/csv/tex under out_dir. Call once per phase."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = WrittenTables()

    def put(name: str, text: str, key: str | None = None) -> None:
        path = out_dir / name
        path.write_text(text)
        written.files.setdefault(key or name.rsplit(".", 1)[0], []).append(path)

    def put_csv(name: str, frame: pd.DataFrame, key: str | None = None) -> None:
        put(name, frame.to_csv(index=False), key)

    modes = mode_coverage_table(runs)
    if modes is not None:
        put("modes.md", modes[1].markdown())
        put("modes.tex", modes[1].latex())
        put_csv("modes.csv", modes[0])
    best = best_fid_table(runs, fid)
    put("best_fid.md", best.table.markdown())
    put("best_fid.tex", best.table.latex())
    put_csv("best_fid.csv", best.tidy)
    ours = best.tidy[best.tidy["source"] == "ours"]
    put("best_settings.md", best.settings.markdown())
    put_csv("best_settings.csv", ours.drop(columns=["source"]))
    sig = significance_table(runs, fid, alpha)
    if sig.table is None or sig.omnibus_table is None:
        written.skipped["significance"] = sig.note
    else:
        put("significance.md", sig.omnibus_table.markdown() + "\n" + sig.table.markdown())
        put("significance.tex", sig.omnibus_table.latex() + "\n" + sig.table.latex())
        put_csv("significance.csv", sig.pairwise)
        put_csv("significance_omnibus.csv", sig.omnibus, key="significance")
    budget = written.budget = budget_curves(runs, fid, boot, seed)
    if budget.empty:
        written.skipped["budget"] = "No budget curve: no objective was searched over settings."
    else:
        put_csv("budget.csv", budget)
    pr = pr_budget_curves(runs, boot, seed)
    if not pr.empty:
        put_csv("pr_budget.csv", pr)
    return written


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _table_section(title: str, intro: str, name: str, written: WrittenTables, root: Path,
                   level: str) -> list[str]:
    if name not in written.files:
        note = written.skipped.get(name)
        return [f"{level} {title}", "", note, ""] if note else []
    md = next(p for p in written.files[name] if p.suffix == ".md")
    # the tables without their own "### title" line, under the section's heading and intro
    body = md.read_text().split("\n", 2)[2] if name != "significance" else md.read_text()
    links = ", ".join(f"[{p.name}]({_rel(p, root)})" for p in written.files[name])
    return [f"{level} {title}", "", intro, "", body, "", f"Files: {links}", ""]


def _plot_section(p: PlotResult, root: Path, level: str) -> list[str]:
    title = p.title or p.name.replace("_", " ")
    if not p.files:
        return [f"{level} {title}", "", f"Not drawn: {p.note}.", ""]
    png = next((f for f in p.files if f.suffix == ".png"), p.files[0])
    others = ", ".join(f"[{f.suffix[1:].upper()}]({_rel(f, root)})" for f in p.files)
    return [f"{level} {title}", "", p.caption, "", f"![{title}]({_rel(png, root)})", "",
            f"Files: {others}", ""]


def _phase_section(runs: pd.DataFrame, curves: pd.DataFrame, root: Path, sub: str, fid: str,
                   boot: int, seed: int, individual: bool | None, alpha: float,
                   level: str) -> list[str]:
    written = write_tables(runs, root / "tables" / sub, fid, alpha, boot, seed)
    plots = plot_all(runs, curves, root / "plots" / sub, fid=fid, boot=boot, seed=seed,
                     individual=individual, budget=written.budget)
    lines: list[str] = []
    # the toys lead with mode coverage: their raw-feature FID compares two moments only
    lines += _table_section("Mode coverage on the 2-D toys",
                            "How many of the toy's modes each objective's runs cover, and how "
                            "much of their mass lands near a mode: read this before the toys' "
                            "FID.", "modes", written, root, level)
    lines += _table_section("Best FID per objective and dataset",
                            "Our best FID, each cell saying what it is; the published numbers "
                            "of Lucic et al. (2018) only where dataset and protocol match.",
                            "best_fid", written, root, level)
    lines += _table_section("Best settings", "The hyperparameter setting behind each number "
                            "above (what phase 3 reruns with many seeds).", "best_settings",
                            written, root, level)
    lines += _table_section("Do the objectives differ?", "An omnibus test per panel, then "
                            "pairwise tests where it rejects.", "significance", written, root,
                            level)
    lines += [f"{level} Plots", ""]
    for p in plots:
        lines += _plot_section(p, root, level + "#")
    for name, what in (("budget", "the budget curves' numbers (exact expectation, median, "
                                  "P(a finite run) and the 95% bootstrap band for each k)"),
                       ("pr_budget", "F1, precision and recall against the budget")):
        if name in written.files:
            csv = written.files[name][0]
            lines += [f"[{csv.name}]({_rel(csv, root)}): {what}.", ""]
        elif name in written.skipped:
            lines += [written.skipped[name], ""]
    return lines


def build_report(collection: Collection, out_dir: str | Path, fid: str = "final",
                 boot: int = 1000, seed: int = 0, individual: bool | None = None,
                 alpha: float = 0.05) -> Path:
    """Write data, tables, plots and index.md into out_dir; returns the index.md path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = save(collection, out / "data")
    s = collection.summary
    lines = ["# GAN benchmark report", "",
             f"Sources: {', '.join(f'`{x}`' for x in s.sources)}. Scores: {FID_DESCRIPTIONS[fid]}.",
             "", "```", s.text(max_problems=20), "```", ""]
    split = split_phases(collection.runs)
    if len(split) > 1:
        lines += [f"These runs come from {len(split)} phases of the study: "
                  + ", ".join(f"`{phase_title(p)}`" for p, _ in split)
                  + ". Each has its own section, tables and plots; none pools them (a seeds phase "
                  "reruns one setting many times and would swamp a search).", ""]
    for phase, runs in split:
        multi = len(split) > 1
        if multi:
            lines += [f"## Phase: {phase_title(phase)}", ""]
        sub = slug(phase) if multi and phase != NO_PHASE else ("no_phase" if multi else "")
        curves = collection.curves[collection.curves["run_id"].isin(runs["run_id"])]
        lines += _phase_section(runs, curves, out, sub, fid, boot, seed, individual, alpha,
                                "###" if multi else "##")
    lines += ["## Data", "",
              "The collected tables, for your own analysis (`pandas.read_parquet`); "
              "`curves.run_id` joins `runs.run_id`:", ""]
    lines += [f"- [{p.name}]({_rel(p, out)})" for p in sorted(data_dir.iterdir())]
    index = out / "index.md"
    index.write_text("\n".join(lines) + "\n")
    return index


def report(sources: Sequence[str | Path], out_dir: str | Path, fid: str = "final",
           boot: int = 1000, jobs: int | None = None) -> Path:
    """Collect `sources` and build the report; returns index.md's path."""
    from analysis.collect import load

    return build_report(load(sources, jobs=jobs), out_dir, fid=fid, boot=boot)


TABLE_CHOICES = ("best", "settings", "significance", "modes", "all")


def render_tables(runs: pd.DataFrame, what: str = "all", fmt: str = "md", fid: str = "final",
                  alpha: float = 0.05) -> str:
    """The tables `gan-analyze table` prints: md, tex or csv. `what` = all adds mode coverage
    when recorded; ValueError when `modes` is asked of runs that did not record it. A table
    with nothing to test prints its one line."""
    best = best_fid_table(runs, fid)
    modes = mode_coverage_table(runs)
    if what == "modes" and modes is None:
        raise ValueError("no run recorded the modes metric (eval.metrics with modes, 2-D toys)")
    chosen = [what] if what != "all" else (["modes"] if modes else []) + [
        "best", "settings", "significance"]
    parts = []
    for name in chosen:
        if name == "significance":
            sig = significance_table(runs, fid, alpha)
            if sig.table is None or sig.omnibus_table is None:
                parts.append(sig.note + "\n")
            elif fmt == "csv":
                parts.append(sig.pairwise.to_csv(index=False))
            else:
                parts += [t.markdown() if fmt == "md" else t.latex()
                          for t in (sig.omnibus_table, sig.table)]
            continue
        tidy, table = {"best": (best.tidy, best.table),
                       "settings": (best.tidy[best.tidy["source"] == "ours"], best.settings),
                       "modes": modes or (None, None)}[name]
        parts.append(tidy.to_csv(index=False) if fmt == "csv" else
                     table.markdown() if fmt == "md" else table.latex())
    return "\n".join(parts)
