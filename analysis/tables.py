"""`gan-analyze table`: best FID per objective x dataset in the study's format, beside the
study's published numbers where dataset and protocol match, mode coverage on the toys, and the
significance tables; Markdown, CSV and LaTeX (analysis.table_format)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.published import STATISTIC, load_reference
from analysis.stats import (
    FID_DESCRIPTIONS,
    NO_PHASE,
    SEARCH,
    SEEDS,
    best_fid,
    distributions,
    panels,
    phase_title,
    phases,
)
from analysis.style import TOY_DATASETS, dataset_label, gan_label, order_datasets, order_gans
from analysis.table_format import Table, fid_decimals, fmt

__all__ = ["Table", "fmt", "fid_decimals", "load_reference", "best_fid_table",
           "mode_coverage_table", "significance_table", "BestFidResult",
           "reference_statistic"]

REFERENCE_NAME = "Lucic et al. 2018"
REFERENCE_EXTRACTOR = "inception"
MOMENTS_ONLY = "two moments only"


def reference_statistic() -> str:
    """What one cell of the published table is (analysis.published.STATISTIC)."""
    return STATISTIC


def _matches(ref_protocol: str, ours: str) -> bool:
    # our label gains " [weights id]" when two extractors of a dataset share a label
    return ours == ref_protocol or ours.startswith(ref_protocol + " [")


def reference_rows(ref: pd.DataFrame, dataset: str, protocol: str) -> pd.DataFrame:
    """The published rows for our dataset under our protocol (none when the protocols differ)."""
    same = np.array([_matches(str(rp), protocol) for rp in ref["protocol"]], dtype=bool)
    return ref[(ref["dataset"] == dataset).to_numpy() & same]


def _cell(r: pd.Series) -> str:
    """A best-FID cell that says what it is: mean ± std over seeds, or min over settings."""
    seeds = r["mode"] != SEARCH
    n, what = (int(r["n_seeds"]), "seeds") if seeds else (int(r["n_settings"]), "settings")
    n_div = int(r["n_seeds_diverged"] if seeds else r["n_diverged"])
    if not math.isfinite(r["fid"]):
        return f"diverged ({n_div}/{n} {what})"
    count = f"{n} {what}" + (f", {n_div} div." if n_div else "")
    if not seeds:
        return f"min {fmt(r['fid'])} ({count})"
    d = fid_decimals(r["fid"])
    std = r["std"]
    if isinstance(std, float) and math.isnan(std):
        return f"{fmt(r['fid'], d)} ({count})"
    # a spread that rounds to 0 at the mean's precision gets its own 1-2 digits
    ds = max(d, fid_decimals(std)) if 0 < std < 10 ** -d else d
    return f"{fmt(r['fid'], d)} ± {fmt(std, ds)} ({count})"


@dataclass
class BestFidResult:
    """The best-FID numbers (tidy), the study-format table, and the best settings table."""

    tidy: pd.DataFrame
    table: Table
    settings: Table


def _columns(ours: pd.DataFrame, ref: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(source, dataset, protocol, phase): ours per dataset, protocol and phase, each followed by
    the paper's column where the paper has that dataset under that protocol."""
    cols: list[tuple[str, str, str, str]] = []
    for d in order_datasets(set(ours["dataset"])):
        sub = ours[ours["dataset"] == d]
        for p in sorted(set(sub["protocol"])):
            cols += [("ours", d, p, ph) for ph in phases(sub[sub["protocol"] == p])]
            if len(reference_rows(ref, d, p)):
                cols.append(("ref", d, p, NO_PHASE))
    return cols


def _ref_cell(hit: pd.DataFrame, sources: dict[str, int]) -> str:
    if not len(hit):
        return "—"
    r = hit.iloc[0]
    mark = sources.setdefault(str(r["source"]), len(sources) + 1)
    text = f"{r['fid_mean']:.1f} ± {r['fid_std']:.1f} [{mark}]"
    return text + ("†" if isinstance(r["disputed"], str) and r["disputed"] else "")


def _header(source: str, d: str, p: str, phase: str, multi_phase: bool) -> str:
    if source == "ref":
        return f"{dataset_label(d)} · {REFERENCE_NAME}"
    proto = f"{p}: {MOMENTS_ONLY}" if d in TOY_DATASETS else p
    return f"{dataset_label(d)} ({proto}{'; ' + phase_title(phase) if multi_phase else ''})"


def best_fid_table(runs: pd.DataFrame, fid: str = "final",
                   reference: pd.DataFrame | None = None) -> BestFidResult:
    """Our best FID per objective (rows) x dataset, protocol and phase (columns); the paper's
    column follows ours only where the paper used the same dataset and protocol."""
    ours = best_fid(runs, fid)
    ref = load_reference() if reference is None else reference
    columns = _columns(ours, ref)
    multi = len(set(ours["phase"])) > 1
    header = ["objective"] + [_header(*c, multi) for c in columns]
    sources: dict[str, int] = {}
    shown_ref = set()
    rows = []
    gans = set(ours["gan"]) | ({g for s, d, _, _ in columns if s == "ref"
                                for g in ref.loc[ref["dataset"] == d, "gan"]})
    for gan in order_gans(gans):
        cells = [gan_label(gan)]
        for s, d, p, ph in columns:
            if s == "ours":
                hit = ours[(ours["gan"] == gan) & (ours["dataset"] == d) & (ours["protocol"] == p)
                           & (ours["phase"] == ph)]
                cells.append(_cell(hit.iloc[0]) if len(hit) else "—")
            else:
                hit = reference_rows(ref, d, p)
                hit = hit[hit["gan"] == gan]
                shown_ref.update(hit.index)
                cells.append(_ref_cell(hit, sources))
        rows.append(cells)
    notes = _best_notes(runs, ours, ref, fid, sources, shown_ref)
    tidy = _tidy(ours, ref.loc[sorted(shown_ref)])
    title = f"Best {fid} FID per objective and dataset (lower is better)"
    return BestFidResult(tidy, Table(title, header, rows, notes), _settings_table(ours, fid))


def _best_notes(runs: pd.DataFrame, ours: pd.DataFrame, ref: pd.DataFrame, fid: str,
                sources: dict[str, int], shown_ref: set) -> list[str]:
    notes = [f"Ours: {FID_DESCRIPTIONS[fid]}. \"mean ± std (n seeds)\": over the seeds of the "
             "best setting (lowest median FID), when settings were run with several seeds; "
             "\"min (n settings)\": the lowest FID over the settings searched. Diverged runs "
             "count as +∞ (\"div.\"); failed and unfinished runs are left out."]
    notes += _floor_notes(ours)
    if set(ours["dataset"]) & set(TOY_DATASETS):
        notes.append("On the 2-D toys the FID of raw features compares two fitted Gaussians: a "
                     "generator that spreads its mass between the modes can score well. Read the "
                     "mode coverage table first.")
    if shown_ref:
        notes.append(f"{REFERENCE_NAME}: {reference_statistic()}.")
        notes += [f"[{i}] {s}" for s, i in sources.items()]
        for _, r in ref.loc[sorted(shown_ref)].iterrows():
            if isinstance(r["disputed"], str) and r["disputed"]:
                notes.append(f"† {gan_label(r['gan'])}, {dataset_label(r['dataset'])}: "
                             f"{r['disputed']}")
    else:
        have = ", ".join(sorted(set(ref["protocol"])))
        notes.append(f"No column of {REFERENCE_NAME} ({have}) shares a dataset and protocol "
                     "with these results, so none is shown.")
    return notes


def _floor_notes(ours: pd.DataFrame) -> list[str]:
    """One note per dataset and protocol with a real-vs-real floor: the FID of real images of
    the other split against the reference at the same sample size, about what a perfect
    generator would score (FID is biased upwards at small n)."""
    notes = []
    known = ours[ours["floor"].notna()]
    for (d, p), floor in known.groupby(["dataset", "protocol"], sort=False)["floor"]:
        lo, hi = floor.min(), floor.max()
        value = fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"
        notes.append(f"{dataset_label(d)} ({p}): real-vs-real floor {value} (what a perfect "
                     "generator scores under this protocol).")
    return notes


def _tidy(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    ref_tidy = ref.rename(columns={"fid_mean": "fid", "fid_std": "std"}).assign(
        mode=SEEDS, statistic=reference_statistic(), phase=NO_PHASE)
    keep = ["dataset", "protocol", "phase", "gan", "fid", "std", "mode", "statistic", "source",
            "disputed"]
    tidy = pd.concat([ours.assign(source="ours", disputed=None),
                      ref_tidy[[c for c in keep if c in ref_tidy]]], ignore_index=True)
    for col in ("n_runs", "n_diverged", "n_settings", "n_seeds", "n_seeds_diverged", "sample"):
        tidy[col] = pd.to_numeric(tidy[col], errors="coerce").astype("Int64")
    return tidy


def _settings_table(ours: pd.DataFrame, fid: str) -> Table:
    multi = len(set(ours["phase"])) > 1
    rows = [[dataset_label(r["dataset"]), r["protocol"]]
            + ([phase_title(r["phase"])] if multi else [])
            + [gan_label(r["gan"]), _cell(r), str(r["n_runs"]), r["setting_desc"]]
            for _, r in ours.iterrows()]
    header = (["dataset", "protocol"] + (["phase"] if multi else [])
              + ["objective", "FID", "runs", "best setting"])
    return Table("Best setting per objective and dataset", header, rows,
                 [f"{FID_DESCRIPTIONS[fid]}; \"best setting\" lists the config values that vary "
                  "among the objective's runs. Phase 3 reruns the setting `gan-analyze best "
                  "SWEEP_DIR --out FILE` selects (the study's rule: the lowest FID at any "
                  "evaluation) with many seeds: `gan-train +sweep=phase3_seeds best=FILE`."],
                 align="ll" + ("l" if multi else "") + "lrrl")


# --- mode coverage -------------------------------------------------------------------------------

MODES_RULE = ("A sample is high quality within 3 standard deviations of its nearest mode; a mode "
              "is covered when its high-quality samples are at least a fifth of the share a "
              "perfect generator gives it (n / modes): VEEGAN and PacGAN count a mode from one "
              "sample, which a few stray points satisfy (benchmark/metrics/modes.py).")


def mode_coverage_table(runs: pd.DataFrame) -> tuple[pd.DataFrame, Table] | None:
    """Per phase, toy dataset and objective: runs (diverged counted, as 0 modes and 0 high
    quality), median and max modes covered, runs covering every mode the dataset's best run
    covers, median high-quality fraction. None when no run recorded the `modes` metric."""
    if "final_modes_covered" not in runs:
        return None
    scored = runs[runs["status"].isin(["completed", "diverged"])]
    has = scored["final_modes_covered"].notna()
    if not has.any():
        return None
    # the datasets whose runs recorded the metric, diverged runs of them included
    recorded = scored[scored["dataset"].isin(set(scored.loc[has, "dataset"]))
                      & (has | (scored["status"] == "diverged"))]
    hq = "final_high_quality"
    rows, tidy = [], []
    multi = len(phases(recorded)) > 1
    for panel in panels(recorded.assign(protocol="modes", extractor_id="")):
        _, dists = distributions(panel)
        most = panel.runs["final_modes_covered"].max()
        for gan, g in dists.items():
            div = g["status"] == "diverged"
            m = g["final_modes_covered"].where(~div, 0.0).astype(float)
            q = (g[hq].where(~div, 0.0).astype(float) if hq in g
                 else pd.Series(np.nan, index=g.index))
            at_most = int((m == most).sum())
            tidy.append({"dataset": panel.dataset, "phase": panel.phase, "gan": gan,
                         "runs": len(g), "diverged": int(div.sum()),
                         "modes_median": m.median(), "modes_max": m.max(),
                         "high_quality_median": q.median(), "runs_at_dataset_max": at_most})
            rows.append([dataset_label(panel.dataset)]
                        + ([phase_title(panel.phase)] if multi else [])
                        + [gan_label(gan), str(len(g)), str(int(div.sum())), f"{m.median():g}",
                           f"{m.max():g}", f"{at_most}/{len(g)}", fmt(q.median(), 2)])
    notes = ["Last evaluation of each run; in a search, one run per setting. Diverged runs count "
             "as covering no mode with no high-quality sample. \"at max\": runs covering as many "
             "modes as the dataset's best run.", MODES_RULE]
    header = (["dataset"] + (["phase"] if multi else [])
              + ["objective", "runs", "diverged", "modes covered (median)", "max", "at max",
                 "high-quality fraction (median)"])
    table = Table("Mode coverage on the 2-D toys (higher is better)", header, rows, notes,
                  align="l" + ("l" if multi else "") + "lrrrrrr")
    return pd.DataFrame(tidy), table


# --- significance --------------------------------------------------------------------------------

@dataclass
class SignificanceResult:
    """The omnibus and pairwise tests (tidy) and their tables; a table is None with `note`
    saying why when no panel has two objectives with enough runs."""

    omnibus: pd.DataFrame
    pairwise: pd.DataFrame
    table: Table | None
    omnibus_table: Table | None
    note: str = ""


def significance_table(runs: pd.DataFrame, fid: str = "final", alpha: float = 0.05,
                       min_runs: int = 2) -> SignificanceResult:
    """Kruskal-Wallis per panel, then pairwise Mann-Whitney U with Holm (analysis.significance)."""
    from analysis.significance import significance
    from analysis.table_format import significance_tables

    omni, pairs = significance(runs, fid, alpha, min_runs)
    if omni.empty:
        return SignificanceResult(omni, pairs, None, None,
                                  f"No significance test: no panel has two objectives with at "
                                  f"least {min_runs} scored runs each.")
    omni_table, pair_table = significance_tables(omni, pairs, fid, alpha)
    return SignificanceResult(omni, pairs, pair_table, omni_table)
