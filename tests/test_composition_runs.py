"""Composed objectives train end to end: from the command line and from a preset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmark.train import run


def _gan_train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "benchmark.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_loss_penalty_norm_on_ring8(tmp_path):
    out = tmp_path / "run"
    p = _gan_train("loss=hinge", "penalty=r1", "norm=spectral", "dataset=ring8", "arch=mlp",
                   "arch.hidden=32", "train.steps=10", "eval.every=5", "eval.num_samples=64",
                   "z_dim=8", "train.progress=false", f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["steps_done"] == 10
    assert (result["gan"], result["loss"], result["penalty"], result["norm"]) == \
        ("hinge+r1+spectral", "hinge", "r1", "spectral")
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"d_loss", "d_real", "d_fake", "gp", "g_loss"} <= set(evals[-1]["losses"])
    # D's weights were spectrally normalised: the raw weight trains under the parametrization
    saved = json.loads((out / "config.json").read_text())["config"]
    assert saved["gan.name"] == "hinge+r1+spectral" and saved["norm.name"] == "spectral"
    assert "gan.disc_batchnorm" not in saved  # D's normalisation is norm alone


def test_hinge_sn_preset_on_digits(compose_cfg, tmp_path):
    cfg = compose_cfg("gan=hinge_sn", "dataset=digits", "arch.width=0.25", "train.steps=4",
                      "eval.every=4", "eval.num_samples=32")
    result = run(cfg, tmp_path)
    assert result["status"] == "completed", result
    assert (result["gan"], result["loss"], result["penalty"], result["norm"]) == \
        ("hinge_sn", "hinge", "none", "spectral")


def test_study_preset_records_its_composition(compose_cfg, tmp_path):
    result = run(compose_cfg("gan=wgan_gp", "dataset=ring8", "arch=mlp", "arch.hidden=32",
                             "train.steps=2", "eval.every=2"), tmp_path)
    assert (result["gan"], result["loss"], result["penalty"], result["norm"]) == \
        ("wgan_gp", "wasserstein", "wgan_gp", "none")


def test_cli_objective_that_takes_no_loss_is_a_config_error(tmp_path):
    p = _gan_train("gan=began", "loss=hinge", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert p.returncode == 2
    assert "loss=hinge: gan=began" in p.stderr and "valid with it: no loss=" in p.stderr
    assert "Traceback" not in p.stderr
