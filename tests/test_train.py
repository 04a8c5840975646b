"""End-to-end runs of the real configs through `run` (in-process) and `gan-train` (CLI)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark.train import run

OBJECTIVES = ["mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae"]
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("gan", OBJECTIVES)
def test_every_objective_runs_on_ring8_mlp(compose_cfg, tmp_path, gan):
    cfg = compose_cfg(f"gan={gan}", "dataset=ring8", "arch=mlp", "arch.hidden=32")
    result = run(cfg, tmp_path)
    assert result["status"] == "completed", result
    assert result["steps_done"] == 20
    evals = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals] == [10, 20]
    for e in evals:
        assert math.isfinite(e["fid"]) and e["fid"] >= 0
        assert e["extractor"] == "raw" and e["n_gen"] == 64 and e["reference_split"] == "test"
        assert e["n_real"] == 10_000
        assert e["losses"] and all(math.isfinite(v) for v in e["losses"].values())
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["final_fid"] == evals[-1]["fid"]
    assert saved["best_fid"] == min(e["fid"] for e in evals)
    assert saved["config_hash"] and saved["protocol"]["extractor"] == "raw"


@pytest.mark.parametrize("gan", OBJECTIVES)
def test_every_objective_runs_on_digits_infogan(compose_cfg, tmp_path, gan):
    cfg = compose_cfg(f"gan={gan}", "dataset=digits", "arch.width=0.125", "train.steps=4",
                      "eval.every=4", "eval.num_samples=32")
    result = run(cfg, tmp_path)
    assert result["status"] == "completed", result
    assert result["protocol"]["extractor"] == "classifier"
    assert result["protocol"]["n_real"] == 360  # the digits test split


def test_same_seed_same_metrics(compose_cfg, tmp_path):
    cfg = compose_cfg("gan=wgan_gp", "dataset=ring8", "arch=mlp", "arch.hidden=32")
    a = run(cfg, tmp_path / "a")
    b = run(cfg, tmp_path / "b")
    c = run(compose_cfg("gan=wgan_gp", "dataset=ring8", "arch=mlp", "arch.hidden=32", "seed=1"),
            tmp_path / "c")
    assert a["final_fid"] == b["final_fid"]
    assert a["config_hash"] == b["config_hash"] != c["config_hash"]
    assert a["final_fid"] != c["final_fid"]


def test_nan_loss_ends_run_as_diverged(compose_cfg, tmp_path, monkeypatch):
    from benchmark.objectives import gans

    original = gans.GAN.g_loss  # what the ns_gan preset builds
    calls = {"n": 0}

    def g_loss_nan_from_step_7(self, G, D, real, z):
        calls["n"] += 1
        loss, logs = original(self, G, D, real, z)
        if calls["n"] >= 7:
            loss = loss * float("nan")
            logs = {**logs, "g_loss": loss.detach()}
        return loss, logs

    monkeypatch.setattr(gans.GAN, "g_loss", g_loss_nan_from_step_7)
    cfg = compose_cfg("gan=ns_gan", "dataset=ring8", "arch=mlp", "arch.hidden=32")
    result = run(cfg, tmp_path)
    assert result["status"] == "diverged"
    assert result["diverged_step"] == 7 and "g_loss" in result["diverged_loss"]
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["status"] == "diverged" and saved["diverged_step"] == 7


def test_failure_writes_failed_result(compose_cfg, tmp_path):
    # mlp on images: a clear error, and the run still leaves a result saying it failed
    cfg = compose_cfg("dataset=digits", "arch=mlp")
    with pytest.raises(ValueError, match="arch=mlp"):
        run(cfg, tmp_path)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["status"] == "failed" and "arch=mlp" in saved["error"]


def _gan_train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "benchmark.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_run_writes_files(tmp_path):
    out = tmp_path / "run"
    p = _gan_train("gan=lsgan", "dataset=ring8", "arch=mlp", "arch.hidden=32", "train.steps=10",
                   "eval.every=5", "eval.num_samples=64", "z_dim=8", f"hydra.run.dir={out}",
                   cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (out / "metrics.jsonl").exists() and (out / "result.json").exists()
    assert (out / ".hydra" / "config.yaml").exists()
    assert json.loads((out / "result.json").read_text())["status"] == "completed"


def test_cli_bad_number_names_key_without_training(tmp_path):
    p = _gan_train("gan.lr=-1", "eval.num_samples=1", f"hydra.run.dir={tmp_path / 'r'}",
                   cwd=tmp_path)
    assert p.returncode == 2
    assert "gan.lr=-1" in p.stderr and "eval.num_samples=1" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "r" / "metrics.jsonl").exists()


def test_cli_unknown_option_lists_valid_ones(tmp_path):
    p = _gan_train("gan=nope", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert p.returncode != 0
    assert "ns_gan" in p.stderr and "wgan_gp" in p.stderr


def test_device_auto_is_cpu_here():
    from benchmark.runtime import resolve_device

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu9")


def test_relaunch_skips_a_finished_run_and_reruns_a_changed_one(compose_cfg, tmp_path):
    cfg = compose_cfg("gan=ns_gan", "dataset=ring8", "arch=mlp", "arch.hidden=32")
    first = run(cfg, tmp_path)
    mtime = (tmp_path / "result.json").stat().st_mtime_ns
    again = run(cfg, tmp_path)
    assert again == json.loads((tmp_path / "result.json").read_text())
    assert (tmp_path / "result.json").stat().st_mtime_ns == mtime  # untouched: nothing retrained
    assert again["final_fid"] == first["final_fid"]
    changed = run(compose_cfg("gan=ns_gan", "dataset=ring8", "arch=mlp", "arch.hidden=32",
                              "train.steps=10"), tmp_path)
    assert changed["config_hash"] != first["config_hash"] and changed["steps_done"] == 10
    assert not (tmp_path / "running.json").exists()


def test_a_failed_run_is_rerun(compose_cfg, tmp_path):
    with pytest.raises(ValueError):
        run(compose_cfg("dataset=digits", "arch=mlp"), tmp_path)
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "failed"
    assert not (tmp_path / "running.json").exists()
    # same directory, now a valid config: trains, replaces the failure
    result = run(compose_cfg("dataset=ring8", "arch=mlp", "arch.hidden=32"), tmp_path)
    assert result["status"] == "completed"


def test_sample_is_applied_recorded_and_saved(compose_cfg, tmp_path):
    from benchmark import rundir

    result = run(compose_cfg("gan=wgan", "dataset=ring8", "arch=mlp", "arch.hidden=32",
                             "sample=5", "train.steps=2", "eval.every=2"), tmp_path)
    saved = rundir.load(tmp_path).config  # the effective config, flattened
    assert result["sample"] == 5 == saved["sample"]
    assert saved["gan.lr"] == result["hparams"]["gan.lr"] != 5e-5
    assert saved["gan.objective.clip"] == result["hparams"]["gan.objective.clip"]


@pytest.mark.slow
def test_demo_fid_goes_down(compose_cfg, tmp_path):
    # The quick start's promise: FID falls from the first evaluation to the last (demo settings,
    # shortened). One thread: the numbers are then the same on every run of this machine kind.
    cfg = compose_cfg("experiment=demo", "train.steps=1200", "eval.every=400",
                      "eval.num_samples=1000", "train.batch_size=64", "z_dim=64",
                      "train.threads=1")
    result = run(cfg, tmp_path)
    fids = [json.loads(line)["fid"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert result["status"] == "completed" and len(fids) == 3
    assert fids[-1] < fids[0] / 4, fids
    assert (tmp_path / "samples" / "step_0001200.png").stat().st_size > 0


def test_schedule_in_epochs_counts_one_real_batch_per_d_step():
    from omegaconf import OmegaConf

    from benchmark.train import schedule

    cfg = OmegaConf.create({"train": {"steps": 7, "batch_size": 64, "epochs": None},
                            "eval": {"every": 3, "every_epochs": None},
                            "dataset": {"epoch_size": None}})
    assert schedule(cfg, 60_000, batches_per_step=1) == (7, 3)
    cfg.train.epochs, cfg.eval.every_epochs = 20, 5
    assert schedule(cfg, 60_000, batches_per_step=1) == (18750, 4688)  # 937.5 steps an epoch
    assert schedule(cfg, 60_000, batches_per_step=5) == (3750, 938)    # n_disc = 5
    cfg.dataset.epoch_size = 50_000  # the study's MNIST epoch, not the split's 60k
    assert schedule(cfg, 60_000, batches_per_step=1) == (15625, 3906)  # 781.25 steps an epoch


@pytest.mark.parametrize(("dataset", "metrics"), [("ring8", "[fid,kid,pr,modes]"),
                                                  ("digits", "[fid,kid,pr]")])
def test_every_metric_is_recorded_over_training(compose_cfg, tmp_path, dataset, metrics):
    extra = ["arch.hidden=32"] if dataset == "ring8" else ["arch.width=0.125"]
    result = run(compose_cfg(f"dataset={dataset}", f"eval.metrics={metrics}", *extra), tmp_path)
    evals = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    keys = {"fid", "kid_mean", "kid_std", "precision", "recall"}
    if dataset == "ring8":
        keys |= {"modes_covered", "high_quality"}
    for e in evals:
        assert keys <= set(e) and all(math.isfinite(e[k]) for k in keys)
    assert set(result["final_metrics"]) == keys
    assert 0 <= result["final_metrics"]["precision"] <= 1


def test_metrics_must_include_fid(compose_cfg, tmp_path):
    from benchmark.validate import ConfigError

    with pytest.raises(ConfigError, match="eval.metrics"):
        run(compose_cfg("dataset=ring8", "eval.metrics=[kid]"), tmp_path)
