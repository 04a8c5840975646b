"""Formatting shared by the tables: numbers, a Table with Markdown and LaTeX output, and the
significance tables' layout."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats import FID_DESCRIPTIONS, KIND_WORDS, SEARCH, phase_title
from analysis.style import dataset_label, gan_label


def fmt(x: float | None, decimals: int | None = None) -> str:
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


def fmt_p(x: Any, decimals: int = 3) -> str:
    """A p-value or probability: 3 decimals, scientific below 0.001."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    if decimals == 3 and x < 0.001:
        return f"{x:.1e}"
    return f"{x:.{decimals}f}"


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
            .replace("≥", r"$\geq$").replace("<", r"$<$").replace("×", r"$\times$")
            .replace("ε²", r"$\varepsilon^2$").replace("†", r"$\dagger$")
            .replace("·", r"$\cdot$").replace("≤", r"$\leq$"))


def _panel_name(r: pd.Series, multi_phase: bool) -> str:
    name = f"{dataset_label(r['dataset'])} ({r['protocol']})"
    return f"{name}, {phase_title(r['phase'])}" if multi_phase else name


def significance_tables(omni: pd.DataFrame, pairs: pd.DataFrame, fid: str,
                        alpha: float) -> tuple[Table, Table]:
    """(omnibus table, pairwise table) of analysis.significance's results."""
    multi = omni["phase"].nunique() > 1
    rows = [[_panel_name(r, multi), r["kind"], ", ".join(gan_label(g) for g in r["gans"]),
             str(r["n_runs"]), fmt(r["h"], 2), fmt_p(r["epsilon2"], 2), fmt_p(r["p"]),
             r["verdict"]] for _, r in omni.iterrows()]
    left = [f"{_panel_name(r, multi)}: " + ", ".join(gan_label(g) for g in r["left_out"])
            for _, r in omni.iterrows() if r["left_out"]]
    o_notes = [f"Kruskal-Wallis test of the per-run {FID_DESCRIPTIONS[fid]} across the "
               f"objectives of each panel (diverged runs = +∞, the worst rank), α = {alpha}; "
               "ε² = H / (N − 1), the share of rank variance between objectives (0 to 1).",
               *(f"{kind}: {words}." for kind, words in KIND_WORDS.items()
                 if kind in set(omni["kind"]))]
    if left:
        o_notes.append("Left out (fewer runs than a test needs): " + "; ".join(left) + ".")
    omni_table = Table("Do the objectives' FID distributions differ? (omnibus test per panel)",
                       ["panel", "distribution", "objectives", "runs", "H", "ε²", "p",
                        "verdict"], rows, o_notes, align="llllrrrl")
    prow = [[_panel_name(r, multi), f"{gan_label(r['a'])} vs {gan_label(r['b'])}",
             f"{r['n_a']} / {r['n_b']}", f"{r['div_a']} / {r['div_b']}",
             f"{fmt(r['median_a'])} / {fmt(r['median_b'])}",
             f"{fmt_p(r['p_a_lower'], 2)} [{fmt_p(r['p_a_lower_lo'], 2)}, "
             f"{fmt_p(r['p_a_lower_hi'], 2)}]", fmt_p(r["p"]), fmt_p(r["p_holm"]), r["verdict"]]
            for _, r in pairs.iterrows()]
    p_notes = ["Two-sided Mann-Whitney U per pair, Holm correction over the pairs of each panel, "
               f"read only where the panel's omnibus test rejects (α = {alpha}).",
               "P(A lower): the probability that a random run of A has a lower FID than one of "
               "B (ties count half; 0.5 = no tendency), with a 95% score-type interval "
               "(Hanley-McNeil variance as modified by Newcombe 2006; it stays open when the "
               "two samples do not overlap)."]
    if (pairs["kind"] == SEARCH).any():
        p_notes.append("In a search panel a difference says how the objectives fare across "
                       "this search space (how much of it gives good models), not which is "
                       "better at its best: for that, compare the seeds of the best settings "
                       "(phase 3) or the budget curves at large k.")
    p_notes.append("With few runs per objective no difference can reach significance (2 vs 2 "
                   "runs: p ≥ 0.33).")
    pair_table = Table("Pairwise tests", ["panel", "pair (A vs B)", "runs A / B",
                                          "diverged A / B", "median FID A / B",
                                          "P(A lower) [95% CI]", "p", "p (Holm)", "verdict"],
                       prow, p_notes, align="lllrrrrrl")
    return omni_table, pair_table
