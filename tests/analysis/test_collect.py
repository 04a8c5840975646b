"""analysis.collect: run dirs -> runs and curves tables, robust to broken runs."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis.collect import collect, load, load_collected, read_run, save, select
from perf.synthetic import SyntheticRun, write_run, write_sweep


def test_every_run_keeps_a_row_and_is_counted(collected):
    s = collected.summary
    # mnist: 18 runs (1 failed, 1 diverged) + running, unfinished, corrupt result;
    # ring8: 10 runs (3 diverged) + 1 with an unreadable config
    assert s.n_runs == len(collected.runs) == 32
    assert s.counts == {"completed": 24, "diverged": 4, "failed": 1, "running": 1,
                        "unfinished": 1, "corrupt": 1}
    problems = dict(s.problems)
    assert any("result.json not valid JSON" in p for p in problems.values())
    assert any("metrics.jsonl: 1 unreadable line" in p for p in problems.values())
    assert any("config.json not valid JSON" in p for p in problems.values())
    text = s.text()
    assert "32 runs" in text and "4 diverged" in text and "1 corrupt" in text
    assert "+inf" in text


def test_runs_table_columns(collected):
    runs = collected.runs.set_index("run")
    r = runs.loc["dataset=mnist,gan.lr=0.0004,gan=wgan_gp,seed=1"]
    assert (r["status"], r["gan"], r["dataset"], r["seed"]) == ("completed", "wgan_gp", "mnist", 1)
    assert r["final_fid"] == 24.0 and r["best_fid"] == 23.0 and r["first_fid"] == 100.0
    assert r["n_evals"] == 3 and r["final_step"] == 1000 and r["steps_done"] == 1000
    assert (r["extractor"], r["n_gen"], r["n_real"], r["reference_split"]) == (
        "classifier", 2000, 360, "test")
    assert r["protocol"] == "FID-2k/test, classifier"
    # the config, flattened into dotted columns; search ranges are not part of it
    assert r["gan.lr"] == 4e-4 and r["gan.objective.penalty"] == 10.0
    assert r["train.epochs"] is None or pd.isna(r["train.epochs"])
    assert r["eval.metrics"] == '["fid"]'  # lists become JSON text: one type per column
    assert not [c for c in runs.columns if c.startswith(("gan.search_space", "search.params"))]
    ring = runs.loc["dataset=ring8,gan.lr=0.0002,gan=ns_gan,sample=1,seed=0"]
    assert ring["hp.gan.beta1"] == pytest.approx(0.1) and ring["sample"] == 1
    assert ring["final_precision"] == pytest.approx(0.65)


def test_broken_runs(collected):
    runs = collected.runs.set_index("run")
    failed = runs.loc["dataset=mnist,gan.lr=0.0004,gan=wgan_gp,seed=0"]
    assert failed["status"] == "failed" and "out of memory" in failed["error"]
    corrupt = runs.loc["dataset=mnist,gan.lr=0.0001,gan=lsgan,seed=3"]
    assert corrupt["status"] == "corrupt" and corrupt["gan"] == "lsgan"  # from config.json
    assert corrupt["final_fid"] == 9.0  # what metrics.jsonl says so far
    assert runs.loc["dataset=mnist,gan.lr=0.0004,gan=ns_gan,seed=3", "status"] == "running"
    assert runs.loc["dataset=mnist,gan.lr=0.0004,gan=ns_gan,seed=4", "status"] == "unfinished"
    truncated = runs.loc["dataset=mnist,gan.lr=0.0001,gan=ns_gan,seed=0"]
    assert truncated["status"] == "completed" and truncated["final_fid"] == 30.0
    assert truncated["n_evals"] == 2  # the cut-off third line is skipped
    no_config = runs.loc["dataset=ring8,gan.lr=0.0002,gan=ns_gan,sample=9,seed=1"]
    assert (no_config["gan"], no_config["dataset"], no_config["status"]) == (
        "ns_gan", "ring8", "completed")
    # diverged before its first evaluation: no protocol of its own, its dataset's is filled in
    early = runs.loc["dataset=ring8,gan.lr=0.0002,gan=wgan_gp,sample=0,seed=0"]
    assert early["status"] == "diverged" and early["n_evals"] == 0
    assert early["protocol"] == "FID-2k/test, raw"


def test_settings_group_seeds(collected):
    runs = collected.runs
    mnist = runs[(runs["dataset"] == "mnist") & (runs["gan"] == "ns_gan")
                 & runs["status"].eq("completed")]
    by_lr = mnist.groupby("gan.lr")["setting"].nunique()
    assert by_lr.to_dict() == {1e-4: 1, 4e-4: 1}
    assert mnist["setting"].nunique() == 2
    ring = runs[(runs["dataset"] == "ring8") & (runs["gan"] == "lsgan")]
    assert ring["setting"].nunique() == 4  # one sample = one setting


def test_curves_table(collected):
    runs, curves = collected.runs, collected.curves
    assert list(curves.columns) == ["run_id", "step", "epoch", "wall_s", "train_s", "metric",
                                    "value"]
    rid = runs.loc[runs["run"] == "dataset=mnist,gan.lr=0.0004,gan=wgan_gp,seed=1", "run_id"].item()
    fid = curves[(curves["run_id"] == rid) & (curves["metric"] == "fid")]
    assert fid["step"].tolist() == [333, 667, 1000] and fid["value"].tolist() == [100, 23, 24]
    metrics = set(curves.loc[curves["run_id"] == rid, "metric"])
    assert metrics == {"fid", "loss.d_loss", "loss.g_loss"}
    # a diverged run's last line carries a NaN loss ("nan" in the file) at the divergence step
    div = runs.loc[runs["run"] == "dataset=mnist,gan.lr=0.0004,gan=lsgan,seed=2", "run_id"].item()
    d_loss = curves[(curves["run_id"] == div) & (curves["metric"] == "loss.d_loss")]
    assert math.isnan(d_loss["value"].iloc[-1]) and d_loss["step"].iloc[-1] == 1007


def test_parquet_roundtrip(collected, tmp_path):
    out = save(collected, tmp_path / "res")
    assert {p.name for p in out.iterdir()} == {"runs.parquet", "curves.parquet",
                                               "collect_summary.json"}
    back = load_collected(out)
    assert back.runs.shape == collected.runs.shape
    assert back.curves.shape == collected.curves.shape
    assert back.summary.counts == collected.summary.counts
    assert back.runs["final_fid"].equals(collected.runs["final_fid"])
    assert load([out]).runs.shape == collected.runs.shape  # `load` recognises a collected dir


def test_nan_and_inf_strings(tmp_path):
    d = write_run(tmp_path, SyntheticRun("ns_gan", "mnist", fids=(float("nan"), float("inf"))))
    assert '"nan"' in (d / "metrics.jsonl").read_text()
    row, curves = read_run(str(d))
    assert math.isinf(row["final_fid"]) and math.isnan(row["first_fid"])
    assert row["status"] == "completed"


def test_sources_of_every_shape(tmp_path):
    # Hydra's default layout multirun/<date>/<time>/<job number>, a single run dir, an empty dir
    for i in range(3):
        write_run(tmp_path / "multirun" / "2026-01-01" / "12-00-00",
                  SyntheticRun("ns_gan", "mnist", seed=i, name=str(i)))
    c = collect([tmp_path / "multirun"], jobs=1)
    assert len(c.runs) == 3 and set(c.runs["seed"]) == {0, 1, 2}
    one = collect([tmp_path / "multirun" / "2026-01-01" / "12-00-00" / "1"])
    assert len(one.runs) == 1 and one.runs["seed"].item() == 1
    (tmp_path / "empty").mkdir()
    none = collect([tmp_path / "empty"])
    assert none.runs.empty and none.summary.n_runs == 0
    with pytest.raises(FileNotFoundError):
        collect([tmp_path / "missing"])


def test_parallel_read_matches_serial(tmp_path, monkeypatch):
    import analysis.collect as mod

    runs = [SyntheticRun(g, "mnist", seed=s, fids=(50.0 + s, 40.0 + s), sample=s)
            for g in ("ns_gan", "wgan") for s in range(20)]
    sweep = write_sweep(tmp_path / "s", runs)
    monkeypatch.setattr(mod, "_PARALLEL_MIN", 1)
    par = collect([sweep], jobs=2)
    ser = collect([sweep], jobs=1)
    cols = ["run", "status", "final_fid", "setting"]
    pd.testing.assert_frame_equal(par.runs[cols], ser.runs[cols])
    pd.testing.assert_frame_equal(par.curves, ser.curves)


def test_select(collected):
    sub = select(collected, gans=["lsgan"], datasets=["ring8"])
    assert set(sub.runs["gan"]) == {"lsgan"} and set(sub.runs["dataset"]) == {"ring8"}
    assert set(sub.curves["run_id"]) <= set(sub.runs["run_id"])
    assert select(collected) is collected


def test_result_with_unknown_status(tmp_path):
    d = write_run(tmp_path, SyntheticRun("ns_gan", "mnist"))
    result = json.loads((d / "result.json").read_text())
    (d / "result.json").write_text(json.dumps(result | {"status": "exploded"}))
    row, _ = read_run(str(d))
    assert row["status"] == "corrupt" and "unknown status" in row["problem"]
    assert np.isfinite(row["final_fid"])
