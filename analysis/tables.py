"""`gan-analyze table`: best FID per objective x dataset in the study's format, beside the
study's published numbers, and the pairwise significance table; Markdown, CSV and LaTeX."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from analysis.collect import protocol_label
from analysis.stats import FID_DESCRIPTIONS, best_fid, pairwise_tests
from analysis.style import dataset_label, gan_label, order_datasets, order_gans

REFERENCE_FILE = "lucic2018_best_fid.csv"
REFERENCE_NAME = "Lucic et al. 2018"
REFERENCE_EXTRACTOR = "inception"


def load_reference() -> pd.DataFrame:
    """The study's published best FID (mean, std over 50 seeds) per objective and dataset."""
    with files("analysis").joinpath("reference", REFERENCE_FILE).open() as f:
        ref = pd.read_csv(f, comment="#")
    ref["protocol"] = [protocol_label(n, s, e) for n, s, e in
                       zip(ref["n_gen"], ref["reference_split"], ref["extractor"], strict=True)]
    return ref


def fmt(x: float, decimals: int | None = None) -> str:
    """A FID with the study's one decimal, more for small values (toys reach 0.05)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞"
    return f"{x:.{decimals if decimals is not None else fid_decimals(x)}f}"


def fid_decimals(x: float) -> int:
    """1 decimal from 1 up, 2 significant digits below (0.45, 0.086)."""
    if not math.isfinite(x) or x == 0:
        return 1
    return max(1, min(4, 1 - math.floor(math.log10(abs(x)))))


@dataclass
class Table:
    """A formatted table: header, rows of strings, a title and notes to print under it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    align: str = ""  # one of l/r per column; default: first left, the rest right

    def _align(self) -> str:
        return self.align or "l" + "r" * (len(self.header) - 1)

    def markdown(self) -> str:
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        out = [f"### {self.title}", "", line(self.header),
               "|" + "|".join(":---" if a == "l" else "---:" for a in self._align()) + "|"]
        out += [line(r) for r in self.rows]
        if self.notes:
            out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def latex(self) -> str:
        cols = self._align()
        out = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(self.title)}}}",
               rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
               " & ".join(_tex(h) for h in self.header) + r" \\", r"\midrule"]
        out += [" & ".join(_tex(c) for c in r) + r" \\" for r in self.rows]
        out += [r"\bottomrule", r"\end{tabular}"]
        if self.notes:
            out += [r"\par\smallskip\footnotesize"] + [_tex(n) + r"\par" for n in self.notes]
        out += [r"\end{table}"]
        return "\n".join(out) + "\n"


def _tex(s: str) -> str:
    s = str(s)
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"),
                 ("_", r"\_"), ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
        s = s.replace(a, b)
    return (s.replace("±", r"$\pm$").replace("∞", r"$\infty$").replace("—", "--")
            .replace("≥", r"$\geq$").replace("<", r"$<$").replace("×", r"$\times$"))


def _cell(r: pd.Series) -> str:
    if r["mode"] == "seeds":
        if not math.isfinite(r["fid"]):
            return f"diverged ({r['n_seeds_diverged']}/{r['n_seeds']} seeds)"
        d = fid_decimals(r["fid"])
        # a spread that rounds to 0 at the mean's precision gets its own 1-2 digits
        ds = max(d, fid_decimals(r["std"])) if 0 < r["std"] < 10 ** -d else d
        text = f"{fmt(r['fid'], d)} ± {fmt(r['std'], ds)}"
        if r["n_seeds_diverged"]:
            text += f" ({r['n_seeds_diverged']}/{r['n_seeds']} div.)"
        return text
    if not math.isfinite(r["fid"]):
        return f"diverged ({r['n_diverged']}/{r['n_runs']})"
    return fmt(r["fid"])


@dataclass
class BestFidResult:
    """The best-FID numbers (tidy), the study-format table, and the best settings table."""

    tidy: pd.DataFrame
    table: Table
    settings: Table


def best_fid_table(runs: pd.DataFrame, fid: str = "final",
                   reference: pd.DataFrame | None = None) -> BestFidResult:
    """Our best FID per objective (rows) x dataset and protocol (columns), each dataset of
    the study followed by the study's column, then the study's other datasets."""
    ours = best_fid(runs, fid)
    ref = load_reference() if reference is None else reference
    ours_cols = list(dict.fromkeys(zip(ours["dataset"], ours["protocol"], strict=True)))
    ours_sets = {d for d, _ in ours_cols}
    columns: list[tuple[str, str, str]] = []  # (source, dataset, protocol)
    for d in order_datasets(ours_sets):
        columns += [("ours", d, p) for dd, p in ours_cols if dd == d]
        if d in set(ref["dataset"]):
            columns.append(("ref", d, ref.loc[ref["dataset"] == d, "protocol"].iloc[0]))
    for d in order_datasets(set(ref["dataset"]) - ours_sets):
        columns.append(("ref", d, ref.loc[ref["dataset"] == d, "protocol"].iloc[0]))
    header = ["objective"] + [
        f"{dataset_label(d)} {'ours' if s == 'ours' else REFERENCE_NAME} ({p})"
        for s, d, p in columns]
    rows = []
    for gan in order_gans(set(ours["gan"]) | set(ref["gan"])):
        cells = [gan_label(gan)]
        for s, d, p in columns:
            if s == "ours":
                hit = ours[(ours["gan"] == gan) & (ours["dataset"] == d) & (ours["protocol"] == p)]
                cells.append(_cell(hit.iloc[0]) if len(hit) else "—")
            else:
                hit = ref[(ref["gan"] == gan) & (ref["dataset"] == d)]
                cells.append(f"{hit['fid_mean'].iloc[0]:.1f} ± {hit['fid_std'].iloc[0]:.1f}"
                             if len(hit) else "—")
        rows.append(cells)

    notes = [f"Ours: {FID_DESCRIPTIONS[fid]}. Where settings were run with several seeds: "
             "mean ± std over the seeds of the best setting (lowest median FID); otherwise the "
             "minimum over settings. Diverged runs count as +∞ (\"div.\"); failed and "
             "unfinished runs are left out."]
    for d in order_datasets(ours_sets):
        modes = ours[ours["dataset"] == d].groupby("protocol")["mode"].agg(lambda m: set(m))
        for p, m in modes.items():
            how = " and ".join(sorted("mean ± std over seeds" if x == "seeds" else
                                      "min over settings" for x in m))
            notes.append(f"{dataset_label(d)} ({p}): {how}.")
    notes += _floor_notes(runs)
    notes.append(f"{REFERENCE_NAME}: mean ± std over 50 seeds of the best setting, FID of the "
                 "TensorFlow Inception network on 10k samples against the 10k test images; "
                 "only Inception-FID results (extractor \"inception\") are comparable with it.")
    for d, p in ours_cols:
        if d not in set(ref["dataset"]):
            continue
        sub = runs[(runs["dataset"] == d) & runs["extractor"].notna()]
        extractors = sorted(set(sub["extractor"]))
        if extractors and extractors != [REFERENCE_EXTRACTOR]:
            notes.append(f"NOT COMPARABLE: our {dataset_label(d)} numbers use "
                         f"{', '.join(extractors)} features, {REFERENCE_NAME} the Inception "
                         "network: read the two columns separately.")
        elif "10k/test" not in p:
            notes.append(f"Our {dataset_label(d)} protocol ({p}) differs from the study's "
                         "(FID-10k/test): FID depends on the sample size and reference split.")
    if not ours_sets & set(ref["dataset"]):
        ours_ext = sorted(set(runs["extractor"].dropna()) - {REFERENCE_EXTRACTOR})
        also = (f" (and ours use {', '.join(ours_ext)} features, not the Inception network)"
                if ours_ext else "")
        notes.append(f"None of these datasets is in {REFERENCE_NAME}: its columns are for "
                     f"orientation only{also}.")

    tidy = ours.assign(source="ours")
    ref_tidy = ref.rename(columns={"fid_mean": "fid", "fid_std": "std"}).assign(
        source=REFERENCE_NAME, mode="seeds", n_seeds=50)
    tidy = pd.concat([tidy, ref_tidy[["dataset", "protocol", "gan", "fid", "std", "mode",
                                      "n_seeds", "source"]]], ignore_index=True)
    for col in ("n_runs", "n_diverged", "n_settings", "n_seeds", "n_seeds_diverged", "sample"):
        tidy[col] = pd.to_numeric(tidy[col], errors="coerce").astype("Int64")
    title = f"Best {fid} FID per objective and dataset (lower is better)"

    settings_rows = [[dataset_label(r["dataset"]), r["protocol"], gan_label(r["gan"]),
                      _cell(r), str(r["n_runs"]), r["setting_desc"]]
                     for _, r in ours.iterrows()]
    settings = Table("Best setting per objective and dataset",
                     ["dataset", "protocol", "objective", "FID", "runs", "best setting"],
                     settings_rows,
                     [f"{FID_DESCRIPTIONS[fid]}; \"best setting\" lists the config values "
                      "that vary among the objective's runs (phase 3 of the study reruns "
                      "the best sample with many seeds: sweeps/phase3_seeds.yaml)."],
                     align="lllrrl")
    return BestFidResult(tidy, Table(title, header, rows, notes), settings)


def _floor_notes(runs: pd.DataFrame) -> list[str]:
    """One note per dataset and protocol with the real-vs-real floor its runs recorded: the FID
    of real images of the other split against the reference at the same sample size, about what
    a perfect generator would score (FID is biased upwards at small n)."""
    if "final_fid_floor" not in runs or "protocol" not in runs:
        return []
    known = runs[runs["final_fid_floor"].notna() & runs["protocol"].notna()]
    notes = []
    for (d, p), floor in known.groupby(["dataset", "protocol"])["final_fid_floor"]:
        lo, hi = floor.min(), floor.max()
        value = fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"
        notes.append(f"{dataset_label(d)} ({p}): real-vs-real floor {value} (real images of the "
                     "other split against the same reference: what a perfect generator scores).")
    return notes


def mode_coverage_table(runs: pd.DataFrame) -> tuple[pd.DataFrame, Table] | None:
    """Per 2-D toy dataset and objective, over the completed runs that recorded the `modes`
    metric: runs, median and max modes covered, median high-quality fraction, and how many runs
    cover the most modes any run of the dataset covers. None when no run recorded it."""
    if "final_modes_covered" not in runs:
        return None
    toy = runs[(runs["status"] == "completed") & runs["final_modes_covered"].notna()]
    if toy.empty:
        return None
    hq = "final_high_quality"
    rows, tidy = [], []
    for d in order_datasets(set(toy["dataset"])):
        sub = toy[toy["dataset"] == d]
        most = sub["final_modes_covered"].max()
        for gan in order_gans(set(sub["gan"])):
            g = sub[sub["gan"] == gan]
            m = g["final_modes_covered"]
            q = g[hq].median() if hq in g else math.nan
            at_most = int((m == most).sum())
            tidy.append({"dataset": d, "gan": gan, "runs": len(g), "modes_median": m.median(),
                         "modes_max": m.max(), "high_quality_median": q,
                         "runs_at_dataset_max": at_most})
            rows.append([dataset_label(d), gan_label(gan), str(len(g)), f"{m.median():g}",
                         f"{m.max():g}", fmt(q), f"{at_most}/{len(g)}"])
    notes = ["Last evaluation of each completed run (diverged and unfinished runs are left out). "
             "A sample is high quality within 3 standard deviations of its nearest mode; a mode "
             "is covered when it has high-quality samples (benchmark/metrics/modes.py). \"at "
             "max\": runs covering as many modes as the dataset's best run."]
    table = Table("Mode coverage on the 2-D toys (higher is better)",
                  ["dataset", "objective", "runs", "modes covered (median)", "max",
                   "high-quality fraction (median)", "at max"], rows, notes, align="llrrrrr")
    return pd.DataFrame(tidy), table


def phase3_snippet(best: pd.DataFrame) -> str:
    """The `best_sample:` block of sweeps/phase3_seeds.yaml filled from these results."""
    lines = ["best_sample:"]
    for d in order_datasets(best["dataset"].unique()):
        # an objective whose every run diverged has no best sample to rerun
        sub = best[(best["dataset"] == d) & best["sample"].notna()
                   & np.isfinite(best["fid"].astype(float))]
        if len(sub):
            items = ", ".join(f"{r['gan']}: {int(r['sample'])}" for _, r in sub.iterrows())
            lines.append(f"  {d}: {{{items}}}")
    return "\n".join(lines) + "\n" if len(lines) > 1 else ""


def significance_table(runs: pd.DataFrame, fid: str = "final",
                       alpha: float = 0.05) -> tuple[pd.DataFrame, Table]:
    """Pairwise Mann-Whitney U tests, Holm-corrected per dataset and protocol."""
    tests = pairwise_tests(runs, fid, alpha)
    rows = []
    for _, r in tests.iterrows():
        rows.append([f"{dataset_label(r['dataset'])} ({r['protocol']})",
                     f"{gan_label(r['a'])} vs {gan_label(r['b'])}", f"{r['n_a']} / {r['n_b']}",
                     f"{fmt(r['median_a'])} / {fmt(r['median_b'])}", _p(r["p_a_better"], 2),
                     _p(r["p"]), _p(r["p_holm"]), r["verdict"]])
    notes = [f"Two-sided Mann-Whitney U test on the per-run {FID_DESCRIPTIONS[fid]} of each "
             "pair of objectives (diverged runs = +∞), Holm correction over the pairs of each "
             f"dataset and protocol, α = {alpha}.",
             "P(A lower): the probability that a random run of A has a lower FID than one of B "
             "(ties count half); 0.5 = no tendency.",
             "With few runs per objective no difference can reach significance (2 vs 2 runs: "
             "p ≥ 0.33)."]
    table = Table("Do the objectives' FID distributions differ?",
                  ["dataset", "pair (A vs B)", "runs A / B", "median FID A / B", "P(A lower)",
                   "p", "p (Holm)", "verdict"], rows, notes, align="lllrrrrl")
    return tests, table


def _p(x: Any, decimals: int = 3) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    if decimals == 3 and x < 0.001:
        return f"{x:.1e}"
    return f"{x:.{decimals}f}"
