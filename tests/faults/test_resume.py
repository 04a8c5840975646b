"""Interrupted runs resume from their checkpoints to exactly the result of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from benchmark import checkpoint
from benchmark.train import run

RING = ["dataset=ring8", "arch.hidden=32", "train.steps=40", "eval.every=10",
        "train.checkpoint_every=10", "train.threads=1"]


def _fids(run_dir: Path) -> list[tuple[int, float]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["fid"]) for r in map(json.loads, lines)]


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "generator.pt", weights_only=True)


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture
def reference(compose_cfg, tmp_path):
    """An uninterrupted run to compare with (per objective)."""
    def _ref(gan: str) -> Path:
        out = tmp_path / f"ref_{gan}"
        run(compose_cfg(f"gan={gan}", *RING), out)
        return out
    return _ref


def _stop_at(monkeypatch, objective_cls, step: int, signum: int = signal.SIGTERM) -> None:
    """Send `signum` to this process during generator step `step` (mid-step, like a real signal)."""
    original, calls = objective_cls.g_loss, {"n": 0}

    def g_loss(self, G, D, real, z):
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signum)
        return original(self, G, D, real, z)

    monkeypatch.setattr(objective_cls, "g_loss", g_loss)


@pytest.mark.parametrize(("gan", "cls_path", "stop_step"),
                         [("wgan_gp", "gans.GAN", 23), ("began", "gans.BEGAN", 17),
                          ("vae", "vae.VAE", 31)])
def test_signal_checkpoint_and_resume_is_bitwise_identical(compose_cfg, tmp_path, monkeypatch,
                                                           reference, gan, cls_path, stop_step):
    from benchmark import objectives

    module, cls_name = cls_path.split(".")
    cls = getattr(getattr(objectives, module), cls_name)
    ref = reference(gan)
    out = tmp_path / "interrupted"
    with monkeypatch.context() as m:
        _stop_at(m, cls, stop_step)
        with pytest.raises(checkpoint.Interrupted):
            run(compose_cfg(f"gan={gan}", *RING), out)
    assert not (out / "result.json").exists() and not (out / "running.json").exists()
    assert (out / "checkpoints" / f"step_{stop_step:09d}.pt").exists()
    assert max(s for s, _ in _fids(out)) <= stop_step
    result = run(compose_cfg(f"gan={gan}", *RING), out)  # the relaunch
    assert result["status"] == "completed"
    assert _fids(out) == _fids(ref)
    assert _same_weights(out, ref)
    assert not list((out / "checkpoints").glob("*.pt"))  # cleaned up once finished


def test_corrupt_latest_checkpoint_falls_back_to_previous(compose_cfg, tmp_path, monkeypatch,
                                                           reference):
    from benchmark.objectives import gans

    ref = reference("ns_gan")
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _stop_at(m, gans.GAN, 35)  # what the ns_gan preset builds
        with pytest.raises(checkpoint.Interrupted):
            run(compose_cfg("gan=ns_gan", *RING), out)
    latest = out / "checkpoints" / "step_000000035.pt"
    latest.write_bytes(latest.read_bytes()[:1000])  # truncated, as by a full disk or a kill
    with pytest.warns(UserWarning, match="unreadable"):
        run(compose_cfg("gan=ns_gan", *RING), out)  # resumes from step 30
    assert _fids(out) == _fids(ref) and _same_weights(out, ref)


def test_no_usable_checkpoint_starts_over(compose_cfg, tmp_path, reference):
    ref = reference("ns_gan")
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "step_000000020.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="starting over"):
        run(compose_cfg("gan=ns_gan", *RING), out)
    assert _fids(out) == _fids(ref) and _same_weights(out, ref)


def test_kill_9_then_relaunch_finishes_with_the_same_result(compose_cfg, tmp_path):
    longer = ["gan=ns_gan", *RING, "train.steps=1500", "eval.every=500"]
    ref = tmp_path / "ref"
    run(compose_cfg(*longer), ref)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "benchmark.train", *longer, "train.progress=false",
           "train.batch_size=16", "eval.num_samples=64", "eval.batch_size=64", "z_dim=8",
           f"hydra.run.dir={out}"]  # the TINY settings compose_cfg adds, spelled out
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((out / "checkpoints").glob("step_*.pt")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.kill()  # SIGKILL: no chance to save anything
    proc.wait()
    saved = sorted((out / "checkpoints").glob("step_*.pt"))
    assert saved, "no periodic checkpoint was written before the kill"
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "resuming from" in p.stdout + p.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed" and result["steps_done"] == 1500
    assert _fids(out) == _fids(ref) and _same_weights(out, ref)
