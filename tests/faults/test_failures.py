"""A run that fails inside its job (an exception, out of memory) leaves result.json with status
failed, the error, its type, the traceback's tail and, for OOM, a hint; gan-status shows it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark import failures
from benchmark.status import format_report, sweep_status
from benchmark.train import run

RING = ["gan=ns_gan", "dataset=ring8", "arch.hidden=32", "train.threads=1"]


def _fail_at(monkeypatch, call: int, make_error) -> None:
    """GAN.g_loss (ns_gan is a GAN) raises `make_error()` at generator step `call`."""
    from benchmark.objectives import gans

    original, calls = gans.GAN.g_loss, {"n": 0}

    def g_loss(self, G, D, real, z):
        calls["n"] += 1
        if calls["n"] == call:
            raise make_error()
        return original(self, G, D, real, z)

    monkeypatch.setattr(gans.GAN, "g_loss", g_loss)


def _result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def test_cuda_oom_mid_run_writes_failed_result_with_a_hint(compose_cfg, tmp_path, monkeypatch,
                                                           caplog):
    # Simulated: the error torch raises when CUDA runs out, raised from the objective.
    _fail_at(monkeypatch, 15, lambda: torch.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 8 GiB"))
    with caplog.at_level(logging.ERROR), pytest.raises(torch.OutOfMemoryError):
        run(compose_cfg(*RING), tmp_path)
    saved = _result(tmp_path)
    assert saved["status"] == "failed" and saved["error_type"] == "OutOfMemoryError"
    assert saved["error"].startswith("OutOfMemoryError: CUDA out of memory. Tried to allocate")
    assert "in g_loss" in saved["traceback"]  # the frame that failed, in the tail
    assert saved["traceback"].rstrip().endswith("GPU 0 has a total capacity of 8 GiB")
    assert "train.batch_size (now 16)" in saved["hint"]
    assert "eval.batch_size (now 64)" in saved["hint"]
    assert "train.batch_size (now 16)" in caplog.text  # and in the job's log
    assert saved["config_hash"] and saved["wall_s"] > 0
    # the evaluation before the failure is kept; the job is no longer "running"
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [10]
    assert not (tmp_path / "running.json").exists()


def test_real_cpu_allocation_failure_is_recognised_as_oom(compose_cfg, tmp_path, monkeypatch):
    # Real: torch's CPU allocator refusing 4 TiB (no simulation), inside a training step.
    try:
        torch.empty(2**40)
    except RuntimeError:
        pass
    else:
        pytest.skip("this kernel lets a 4 TiB allocation through (overcommit)")
    _fail_at(monkeypatch, 3, lambda: torch.empty(2**40))
    with pytest.raises(RuntimeError, match="allocate"):
        run(compose_cfg(*RING), tmp_path)
    saved = _result(tmp_path)
    assert saved["status"] == "failed" and saved["error_type"] == "RuntimeError"
    assert "out of memory" in saved["hint"] and "train.batch_size" in saved["hint"]


def test_other_exception_has_no_hint(compose_cfg, tmp_path, monkeypatch):
    _fail_at(monkeypatch, 5, lambda: KeyError("no such loss"))
    with pytest.raises(KeyError):
        run(compose_cfg(*RING), tmp_path)
    saved = _result(tmp_path)
    assert saved["status"] == "failed" and saved["error_type"] == "KeyError"
    assert saved["error"] == "KeyError: 'no such loss'" and "hint" not in saved
    assert "Traceback (most recent call last)" in saved["traceback"]


@pytest.mark.parametrize(("error", "oom"), [
    (torch.OutOfMemoryError("CUDA out of memory."), True),
    (RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"), True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: not enough memory: "
                  "you tried to allocate 123 bytes."), True),
    (MemoryError(), True),
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), False),
    (ValueError("out of memory"), False),  # not an allocator's error type
])
def test_is_out_of_memory(error, oom):
    assert failures.is_out_of_memory(error) is oom
    assert ("hint" in failures.describe(error, 64, 500)) is oom


def test_traceback_tail_keeps_the_end_of_a_long_traceback():
    def chain(n: int) -> None:  # 30 chained exceptions: a long traceback Python cannot fold
        try:
            if n == 0:
                raise ValueError("at the bottom")
            chain(n - 1)
        except Exception as e:
            raise RuntimeError(f"level {n}") from e

    try:
        chain(30)
    except RuntimeError as e:
        assert len(failures.traceback_tail(e, lines=10_000).splitlines()) > 100
        tail = failures.traceback_tail(e, lines=20)
    lines = tail.rstrip("\n").splitlines()
    assert len(lines) == 21 and lines[0].startswith("... (") and "earlier lines cut" in lines[0]
    assert lines[-1] == "RuntimeError: level 30"  # the error that ended the run, last


# Runs `gan-train -m` with the GAN class's generator step raising CUDA's OOM error: the ns_gan
# job fails, the began job (an objective of its own) completes.
_OOM_SWEEP = """
import sys, torch
from benchmark.objectives import gans
def g_loss(self, G, D, real, z):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
gans.GAN.g_loss = g_loss
from benchmark.train import main
sys.argv = ["gan-train", *sys.argv[1:]]
main()
"""


def test_gan_status_lists_an_oom_job_as_failed_with_its_hint(tmp_path):
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.run(
        [sys.executable, "-c", _OOM_SWEEP, "-m", "gan=began,ns_gan", "dataset=ring8",
         "arch.hidden=16", "train.steps=4", "eval.every=2", "eval.num_samples=64", "z_dim=8",
         "train.threads=1", "train.progress=false", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0  # the sweep says a job failed
    assert "OutOfMemoryError" in p.stderr and "train.batch_size" in p.stdout + p.stderr
    report = sweep_status(sweep)
    assert report["counts"]["completed"] == 1 and report["counts"]["failed"] == 1
    (failed,) = report["failed"]
    assert "gan=ns_gan" in failed["name"]
    assert failed["error"] == "OutOfMemoryError: CUDA out of memory. Tried to allocate 9.00 GiB"
    assert "train.batch_size (now 64)" in failed["hint"]
    text = format_report(report)
    assert "      hint: out of memory: try a smaller train.batch_size" in text
