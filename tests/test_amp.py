"""train.amp: bfloat16 autocast of the training step on CUDA; ignored (with a warning) on a CPU."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch

from benchmark.train import run
from benchmark.validate import ConfigError, validate

TOY = ("gan=wgan_gp", "dataset=ring8", "arch=mlp", "arch.hidden=32")


def test_amp_must_be_a_bool(compose_cfg) -> None:
    validate(compose_cfg("train.amp=true"))
    with pytest.raises(ConfigError, match=r"train\.amp"):
        validate(compose_cfg("train.amp=sometimes"))


def test_amp_is_ignored_on_cpu(compose_cfg, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    off = run(compose_cfg(*TOY, "device=cpu"), tmp_path / "off")
    with caplog.at_level(logging.WARNING, logger="benchmark.train"):
        on = run(compose_cfg(*TOY, "device=cpu", "train.amp=true"), tmp_path / "on")
    assert "train.amp=true has no effect" in caplog.text
    assert on["status"] == off["status"] == "completed"
    assert on["final_fid"] == off["final_fid"]  # float32 both times: the same numbers
    assert on["config_hash"] != off["config_hash"]  # but a setting of its own


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_amp_trains_on_cuda(compose_cfg, tmp_path: Path) -> None:
    result = run(compose_cfg(*TOY, "device=cuda", "train.amp=true"), tmp_path)
    assert result["status"] == "completed"
    evals = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(e["fid"]) for e in evals)
