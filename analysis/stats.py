"""The study's statistics over a runs table: per-run scores, panels, the distributions a
comparison may use, and the best FID per objective x dataset.

Conventions (as in Lucic et al. 2018): a diverged run scores +inf, in every view; failed,
running, unfinished and corrupt runs are left out. FID numbers are only compared within one
*panel*: one phase of the study, one dataset, one protocol (extractor and its weights, n_gen,
n_real, reference split). Phases are never pooled: a phase-3 sweep reruns the best setting of
phase 1 with many seeds, and pooled with phase 1 it would put 50 copies of that setting into the
search distribution.

Two kinds of distribution (`panel_kind`): in a *search* panel (some objective has several
hyperparameter settings) each objective contributes one run per setting, its lowest seed,
picked without looking at the scores; in a *seeds* panel (one setting per objective) the seeds
of that setting.

Budget curves: analysis.budget; significance tests: analysis.significance.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis.collect import COMPLETED, DIVERGED, RUN_COLUMNS, defines_setting
from analysis.style import order_datasets, order_gans

FID_COLUMNS = {"final": "final_fid", "best": "best_fid"}
FID_DESCRIPTIONS = {"final": "final FID (last evaluation of each run)",
                    "best": "best FID during training (lowest evaluation of each run)"}
UNKNOWN_PROTOCOL = "unknown protocol"
PHASE_COLUMN = "phase"
NO_PHASE = ""  # runs that recorded no phase: one phase of their own
SEARCH, SEEDS = "search", "seeds"
KIND_WORDS = {SEARCH: "one run per hyperparameter setting (its lowest seed)",
              SEEDS: "the seeds of each objective's one setting"}


def scores(runs: pd.DataFrame, fid: str = "final") -> pd.Series:
    """Per-run FID for the statistics: a completed run's FID (+inf when non-finite: a broken
    model), +inf for a diverged run, NaN (left out) for every other status."""
    values = pd.to_numeric(runs[FID_COLUMNS[fid]], errors="coerce").astype("float64")
    out = pd.Series(np.nan, index=runs.index, dtype="float64")
    done = (runs["status"] == COMPLETED).to_numpy()
    v = values.to_numpy()
    out[done] = np.where(np.isfinite(v[done]), v[done], np.inf)
    out[(runs["status"] == DIVERGED).to_numpy()] = np.inf
    return out


# --- phases --------------------------------------------------------------------------------

def phase_keys(runs: pd.DataFrame) -> pd.Series:
    """Each run's phase as a string; NO_PHASE where the column is absent or empty."""
    if PHASE_COLUMN not in runs:
        return pd.Series(NO_PHASE, index=runs.index, dtype=object)
    p = runs[PHASE_COLUMN]
    return p.where(p.notna(), NO_PHASE).astype(str).replace({"None": NO_PHASE, "nan": NO_PHASE})


def phases(runs: pd.DataFrame) -> list[str]:
    """The phases in these runs, sorted (phase1_wide < phase3_seeds), runs without one last."""
    found = set(phase_keys(runs))
    return sorted(found - {NO_PHASE}) + ([NO_PHASE] if NO_PHASE in found else [])


def split_phases(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """[(phase, its runs)], one entry (NO_PHASE, runs) when no run recorded a phase."""
    keys = phase_keys(runs)
    return [(p, runs[keys == p]) for p in phases(runs)] or [(NO_PHASE, runs)]


def phase_title(phase: str) -> str:
    return phase if phase != NO_PHASE else "runs without a recorded phase"


# --- panels --------------------------------------------------------------------------------

def add_panels(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of runs with `panel_protocol` (the protocol label, made unique per dataset when two
    extractors' weights share a label), `panel_phase` and `panel` ("dataset | protocol | phase")."""
    runs = runs.copy()
    proto = runs["protocol"] if "protocol" in runs else pd.Series(np.nan, index=runs.index)
    label = proto.astype(object).where(proto.notna(), UNKNOWN_PROTOCOL)
    ext = runs["extractor_id"] if "extractor_id" in runs else pd.Series("", index=runs.index)
    ext_id = ext.astype(object).where(ext.notna(), "")
    n_ids = pd.DataFrame({"d": runs["dataset"], "l": label, "i": ext_id}).groupby(
        ["d", "l"], dropna=False)["i"].transform("nunique")
    label = [f"{lab} [{str(i)[:6]}]" if n > 1 else lab
             for lab, i, n in zip(label, ext_id, n_ids, strict=True)]
    runs["panel_protocol"] = label
    runs["panel_phase"] = phase_keys(runs)
    runs["panel"] = [f"{d} | {lab} | {p}" for d, lab, p in
                     zip(runs["dataset"], label, runs["panel_phase"], strict=True)]
    return runs


class Panel(NamedTuple):
    """The runs whose FIDs may be compared: one phase, dataset and protocol."""

    dataset: str
    protocol: str
    phase: str
    runs: pd.DataFrame


def panels(runs: pd.DataFrame) -> list[Panel]:
    """The panels in phase order, then the study's dataset order, then protocol."""
    if "panel" not in runs:
        runs = add_panels(runs)
    out = []
    for phase in phases(runs):
        in_phase = runs[runs["panel_phase"] == phase]
        for dataset in order_datasets(in_phase["dataset"].dropna().unique()):
            sub = in_phase[in_phase["dataset"] == dataset]
            for proto in sorted(sub["panel_protocol"].unique()):
                out.append(Panel(dataset, proto, phase, sub[sub["panel_protocol"] == proto]))
    return out


def scored_panels(runs: pd.DataFrame, fid: str = "final") -> list[Panel]:
    """Panels of the runs that score (completed or diverged), with a `score` column."""
    runs = add_panels(runs)
    runs["score"] = scores(runs, fid)
    runs = runs[runs["score"].notna()]
    return [p for p in panels(runs) if len(p.runs)]


def _settings(g: pd.DataFrame) -> pd.Series:
    # a run without a setting id (unreadable config) is a setting of its own
    s = g["setting"] if "setting" in g else pd.Series(np.nan, index=g.index)
    return s.astype(object).where(s.notna(), [f"run:{i}" for i in g.index])


def panel_kind(panel_runs: pd.DataFrame) -> str:
    """SEARCH when some objective has several settings in the panel, else SEEDS."""
    per_gan = panel_runs.assign(_s=_settings(panel_runs)).groupby("gan")["_s"].nunique()
    return SEARCH if len(per_gan) and per_gan.max() > 1 else SEEDS


def one_per_setting(g: pd.DataFrame) -> pd.DataFrame:
    """One run per setting: its lowest seed (then lowest run_id), chosen blind to the scores."""
    g = g.assign(_s=_settings(g))
    seed = pd.to_numeric(g["seed"], errors="coerce") if "seed" in g else 0
    rid = g["run_id"] if "run_id" in g else pd.Series(range(len(g)), index=g.index)
    g = g.assign(_seed=seed, _rid=rid).sort_values(["_s", "_seed", "_rid"], na_position="last",
                                                 kind="stable")
    return g.drop_duplicates("_s").drop(columns=["_s", "_seed", "_rid"])


def distributions(panel: Panel) -> tuple[str, dict[str, pd.DataFrame]]:
    """(kind, {objective: its runs in the panel's distribution}) in the study's order."""
    kind = panel_kind(panel.runs)
    out = {}
    for gan in order_gans(panel.runs["gan"].dropna().unique()):
        g = panel.runs[panel.runs["gan"] == gan]
        out[gan] = one_per_setting(g) if kind == SEARCH else g
    return kind, out


def panel_floor(panel_runs: pd.DataFrame) -> float:
    """The panel's real-vs-real floor (median over its runs' `final_fid_floor`), NaN if none."""
    if "final_fid_floor" not in panel_runs:
        return math.nan
    v = pd.to_numeric(panel_runs["final_fid_floor"], errors="coerce").dropna()
    return float(v.median()) if len(v) else math.nan


# --- settings --------------------------------------------------------------------------------

def setting_columns(runs: pd.DataFrame) -> list[str]:
    """The flattened config columns that define a hyperparameter setting."""
    fixed = set(RUN_COLUMNS) - {"sample"}
    return [c for c in runs.columns
            if c not in fixed and not c.startswith(("hp.", "config.", "final_", "panel"))
            and c not in (PHASE_COLUMN, "sweep", "score") and defines_setting(c)]


def _fmt_setting_value(v: Any) -> str:
    if isinstance(v, float) and not isinstance(v, bool):
        return f"{v:.3g}"
    return str(v)


def describe_setting(group: pd.DataFrame, setting: str) -> str:
    """The config values that vary across the group's runs, as they are in `setting`."""
    # runs whose config was unreadable have NaN everywhere: they make nothing "vary"
    cols = [c for c in setting_columns(group)
            if c != "sample" and group[c].dropna().map(repr).nunique() > 1]
    row = group[_settings(group) == setting].iloc[0]
    parts = [f"sample={row['sample']}"] if "sample" in group and pd.notna(row["sample"]) else []
    parts += [f"{c}={_fmt_setting_value(row[c])}" for c in cols if pd.notna(row[c])]
    return ", ".join(parts) if parts else "(the only setting)"


# --- best FID ----------------------------------------------------------------------------------

BEST_COLUMNS = ["dataset", "protocol", "phase", "gan", "mode", "statistic", "fid", "std",
                "n_runs", "n_diverged", "n_settings", "n_seeds", "n_seeds_diverged", "floor",
                "sample", "setting_desc", "best_setting", "best_run"]


def _best_over_seeds(g: pd.DataFrame, settings: pd.Series) -> dict[str, Any]:
    per_setting = g.groupby(settings)["score"]
    counts = per_setting.size()
    multi = counts[counts >= 2].index
    med = per_setting.median()[multi]
    fin_mean = g[np.isfinite(g["score"])].groupby(settings)["score"].mean()
    rank = pd.DataFrame({"med": med, "mean": fin_mean.reindex(multi)}).fillna(np.inf)
    best = rank.sort_values(["med", "mean"], kind="stable").index[0]
    s = g.loc[settings == best, "score"]
    finite = s[np.isfinite(s)]
    return {"mode": SEEDS, "fid": finite.mean() if len(finite) else np.inf,
            "std": finite.std(ddof=1) if len(finite) > 1 else np.nan, "n_seeds": len(s),
            "n_seeds_diverged": int(np.isinf(s).sum()), "best_setting": best,
            "best_run": g.loc[s.index[np.argmin(s.to_numpy())], "run_dir"]
            if "run_dir" in g else None,
            "statistic": f"mean ± std over the {len(s)} seeds of the best setting"}


def best_fid(runs: pd.DataFrame, fid: str = "final") -> pd.DataFrame:
    """Best FID per phase x dataset x protocol x objective, as the study reports it.

    When some setting of an objective was run with several seeds (the study's phase 3), the
    best setting is the one with the lowest median FID over its seeds (a diverged seed = +inf),
    among settings with at least 2 seeds, and the cell is the mean ± std (ddof=1) of its
    finite FIDs (`mode` "seeds"). Otherwise the cell is the minimum FID over the settings
    (`mode` "search"), +inf when every run diverged. `statistic` says which in words.
    """
    rows = []
    for panel in scored_panels(runs, fid):
        floor = panel_floor(panel.runs)
        for gan in order_gans(panel.runs["gan"].dropna().unique()):
            g = panel.runs[panel.runs["gan"] == gan]
            settings = _settings(g)
            row: dict[str, Any] = {
                "dataset": panel.dataset, "protocol": panel.protocol, "phase": panel.phase,
                "gan": gan, "n_runs": len(g), "n_diverged": int(np.isinf(g["score"]).sum()),
                "n_settings": settings.nunique(), "floor": floor}
            if settings.value_counts().max() >= 2:
                row.update(_best_over_seeds(g, settings))
            else:
                i = int(g["score"].to_numpy().argmin())
                row.update(mode=SEARCH, fid=float(g["score"].iloc[i]), std=np.nan, n_seeds=1,
                           n_seeds_diverged=int(np.isinf(g["score"].iloc[i])),
                           best_setting=settings.iloc[i],
                           best_run=g["run_dir"].iloc[i] if "run_dir" in g else None,
                           statistic=f"minimum over {row['n_settings']} settings")
            best_rows = g[settings == row["best_setting"]]
            row["sample"] = best_rows["sample"].iloc[0] if "sample" in g else None
            row["setting_desc"] = describe_setting(g, row["best_setting"])
            rows.append(row)
    return pd.DataFrame(rows, columns=BEST_COLUMNS)
