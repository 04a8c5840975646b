"""The study's protocol as commands, in miniature: phase 1 (a search) -> `gan-analyze best` ->
phase 3 (the selected settings over seeds), on the real sweep files and real runs
(the `mini_study` fixture in tests/conftest.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from analysis.best import SelectionProblem, best_settings
from analysis.collect import collect
from benchmark import rundir, selection


def _results(sweep: Path) -> dict[Path, dict]:
    return {p.parent: json.loads(p.read_text()) for p in sweep.glob("*/result.json")}


def _min_fid(run_dir: Path) -> float:
    # read by hand from metrics.jsonl, not through the analysis
    fids = [json.loads(line).get("fid") for line in (run_dir / "metrics.jsonl").open()]
    return min(float(f) for f in fids if f is not None)


def test_best_picks_the_lowest_fid_over_all_evaluations_of_each_objective(mini_study):
    results = _results(mini_study.search)
    assert len(results) == 6 and all(r["status"] == "completed" for r in results.values())
    chosen = {e["gan"]: e for e in selection.read(mini_study.selection)["selections"]}
    assert set(chosen) == {"ns_gan", "wgan_gp"}
    for gan, entry in chosen.items():
        runs = {r["sample"]: _min_fid(d) for d, r in results.items() if r["gan"] == gan}
        assert sorted(runs) == [0, 1, 2]
        expected = min(runs, key=lambda s: (runs[s], s))  # ties to the lower sample
        assert entry["sample"] == expected and entry["fid"] == pytest.approx(runs[expected])
        assert entry["search"] == "wide" and entry["features_target"].endswith("RawFeatures")


def test_phase3_trains_the_selected_settings(mini_study):
    chosen = {e["gan"]: e for e in selection.read(mini_study.selection)["selections"]}
    search = {(r["gan"], r["sample"]): r for r in _results(mini_study.search).values()}
    seeds = list(_results(mini_study.seeds).values())
    assert sorted((r["gan"], r["seed"]) for r in seeds) == [
        ("ns_gan", 0), ("ns_gan", 1), ("wgan_gp", 0), ("wgan_gp", 1)]
    for r in seeds:
        picked = search[(r["gan"], chosen[r["gan"]]["sample"])]
        assert r["sample"] == picked["sample"] and r["hparams"] == picked["hparams"]
        assert r["phase"] == "phase3_seeds" and picked["phase"] == "phase1_wide"
        # the same setting; seed 0 is even the same run (the phase label is not identity)
        assert r["setting_id"] == picked["setting_id"]
        assert (r["config_hash"] == picked["config_hash"]) == (r["seed"] == 0)


def test_collect_reads_real_runs_with_their_phase_and_setting(mini_study):
    runs = collect([mini_study.search, mini_study.seeds], jobs=1).runs
    assert len(runs) == 10 and set(runs["status"]) == {"completed"}
    assert runs.groupby("phase").size().to_dict() == {"phase1_wide": 6, "phase3_seeds": 4}
    assert set(runs["sweep"]) == {mini_study.search.name, mini_study.seeds.name}
    assert set(runs["protocol"]) == {"FID-256/test, raw"}
    seeds = runs[runs["phase"] == "phase3_seeds"]
    assert seeds.groupby("gan")["setting"].nunique().to_dict() == {"ns_gan": 1, "wgan_gp": 1}
    for _, row in runs.iterrows():  # the config columns are the run's own config.json
        assert row["gan.lr"] == rundir.load(row["run_dir"]).config["gan.lr"]
        assert math.isfinite(row["final_fid"]) and row["n_evals"] == 3


def test_best_refuses_pooled_phases_and_empty_searches(mini_study):
    runs = collect([mini_study.search, mini_study.seeds], jobs=1).runs
    with pytest.raises(SelectionProblem, match="several phases"):
        best_settings(runs)
    with pytest.raises(SelectionProblem, match="no completed run"):
        best_settings(runs[runs["status"] == "failed"])


def test_report_on_real_runs_keeps_the_phases_apart(mini_study, tmp_path):
    from analysis.report import report

    index = report([mini_study.search, mini_study.seeds], tmp_path / "report", boot=50)
    text = index.read_text()
    assert "## Phase: phase1_wide" in text and "## Phase: phase3_seeds" in text
    # each phase its own tables; the numbers read by hand from the runs' files
    import pandas as pd

    search = pd.read_csv(tmp_path / "report/tables/phase1_wide/best_fid.csv")
    seeds = pd.read_csv(tmp_path / "report/tables/phase3_seeds/best_fid.csv")
    finals = {}
    for sweep in (mini_study.search, mini_study.seeds):
        for r in _results(sweep).values():
            finals.setdefault((r["phase"], r["gan"]), []).append(r["final_fid"])
    for _, row in search[search["source"] == "ours"].iterrows():
        assert row["fid"] == pytest.approx(min(finals[("phase1_wide", row["gan"])]))
        assert row["n_settings"] == 3
    for _, row in seeds[seeds["source"] == "ours"].iterrows():
        values = finals[("phase3_seeds", row["gan"])]
        assert row["n_seeds"] == 2 and row["fid"] == pytest.approx(sum(values) / 2)
    # the search's budget curve ends at its best run and starts at the mean (no run diverged)
    budget = pd.read_csv(tmp_path / "report/tables/phase1_wide/budget.csv")
    for gan, g in budget.groupby("gan"):
        k = g.sort_values("k")
        values = finals[("phase1_wide", gan)]
        assert k["mean"].iloc[-1] == pytest.approx(min(values))
        assert k["mean"].iloc[0] == pytest.approx(sum(values) / len(values))
