"""Storage faults: a read-only or full output dir stops a run before training, naming the path and
the numbers; a write failing mid-run (ENOSPC) ends the run as failed without half-written files.

What is real and what is simulated, test by test:
- a file where the run dir should be: real (the OS refuses mkdir).
- read-only dir: real, by `chattr +i` (immutable: refuses writes even to root, who ignores
  chmod); skipped where the filesystem or container does not allow it.
- full disk before training: shutil.disk_usage is monkeypatched to report little free space.
- ENOSPC on metrics.jsonl mid-run: real, metrics.jsonl becomes a link to /dev/full, whose every
  write fails with ENOSPC.
- ENOSPC in a checkpoint / result.json / fsync / a short write: simulated by monkeypatching the
  writing function to write part of the data and raise OSError(ENOSPC), as a full disk does.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
import torch

from benchmark import checkpoint, rundir, storage
from benchmark.rundir import MetricsLog
from benchmark.storage import StorageError
from benchmark.train import run

RING = ["gan=ns_gan", "dataset=ring8", "arch.hidden=32", "train.threads=1", "train.steps=40",
        "eval.every=10", "train.checkpoint_every=10"]
Usage = namedtuple("Usage", "total used free")


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _g_loss_hook(monkeypatch, call: int, action) -> dict:
    """Run `action()` during generator step `call` (once), else train normally."""
    from benchmark.objectives import gans

    original, calls = gans.GAN.g_loss, {"n": 0}

    def g_loss(self, G, D, real, z):
        calls["n"] += 1
        if calls["n"] == call:
            action()
        return original(self, G, D, real, z)

    monkeypatch.setattr(gans.GAN, "g_loss", g_loss)
    return calls


def _no_temp_files(d: Path) -> bool:
    return not [p for p in d.rglob("*.tmp")]


# --- before training ----------------------------------------------------------------------------

def test_a_file_where_the_run_dir_should_be(compose_cfg, tmp_path):
    (tmp_path / "outputs").write_text("not a directory")
    out = tmp_path / "outputs" / "run"
    with pytest.raises(StorageError) as e:
        run(compose_cfg(*RING), out)
    assert str(out) in str(e.value) and "not writable" in str(e.value)
    assert "a file stands where a directory should be" in str(e.value)


@pytest.fixture
def immutable(tmp_path):
    """chattr +i on a dir for the test's length (real read-only, even for root)."""
    made: list[Path] = []

    def _make(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["chattr", "+i", str(d)], capture_output=True, text=True) \
            if shutil.which("chattr") else None
        if p is None or p.returncode != 0:
            pytest.skip("chattr +i is not available here (needs root and ext4/xfs)")
        made.append(d)
        return d

    yield _make
    for d in made:
        subprocess.run(["chattr", "-i", str(d)], check=True)


def test_read_only_run_dir_fails_before_anything_is_written(compose_cfg, tmp_path, immutable):
    out = immutable(tmp_path / "run")
    with pytest.raises(StorageError) as e:
        run(compose_cfg(*RING), out)
    assert f"output directory {out} is not writable: Operation not permitted" in str(e.value)
    assert e.value.errno == errno.EPERM and not list(out.iterdir())


def test_read_only_checkpoint_dir_is_named(compose_cfg, tmp_path, immutable):
    out = tmp_path / "run"
    ckpts = immutable(out / checkpoint.CHECKPOINT_DIR)
    with pytest.raises(StorageError, match=f"output directory {re.escape(str(ckpts))} is not"):
        run(compose_cfg(*RING), out)
    assert not (out / "result.json").exists() and not (out / "config.json").exists()


def test_cli_read_only_dir_is_one_clear_line(tmp_path, immutable):
    # Hydra would fail first writing its own files (.hydra/, the job log) into a read-only dir:
    # without them, the run's own check is what stops it.
    out = immutable(tmp_path / "run")
    p = subprocess.run(
        [sys.executable, "-m", "benchmark.train", *RING, "hydra.output_subdir=null",
         "hydra/job_logging=stdout", f"hydra.run.dir={out}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1
    assert f"error: output directory {out} is not writable" in p.stderr
    assert "Traceback" not in p.stderr


def test_full_disk_stops_before_the_first_step(compose_cfg, tmp_path, monkeypatch):
    calls = _g_loss_hook(monkeypatch, 10**9, lambda: None)
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda _p: Usage(10**9, 10**9, 200_000))
    with pytest.raises(StorageError) as e:
        run(compose_cfg(*RING), tmp_path)
    msg = str(e.value)
    assert f"not enough free space in {tmp_path}: 195.3 KiB free, this run writes about" in msg
    assert "checkpoints " in msg and "generator.pt " in msg
    assert calls["n"] == 0 and not (tmp_path / "metrics.jsonl").exists()  # no step was trained
    saved = json.loads((tmp_path / "result.json").read_text())  # the disk still took this
    assert saved["status"] == "failed" and "not enough free space" in saved["error"]


def _estimate(msg: str, item: str) -> float:
    """An item's bytes in the StorageError message (`checkpoints 123.4 KiB`)."""
    number, unit = re.search(rf"{item} ([\d.]+) (B|KiB|MiB|GiB)", msg).groups()
    return float(number) * 1024 ** ["B", "KiB", "MiB", "GiB"].index(unit)


def test_space_estimate_matches_real_checkpoints(compose_cfg, tmp_path, monkeypatch):
    # The estimate (3 checkpoints alive at once) against the real checkpoint of the same run.
    with monkeypatch.context() as m:
        m.setattr(storage.shutil, "disk_usage", lambda _p: Usage(1, 1, 0))
        with pytest.raises(StorageError) as e:
            run(compose_cfg(*RING), tmp_path / "a")
    estimated = _estimate(str(e.value), "checkpoints") / storage.CHECKPOINT_COPIES
    _g_loss_hook(monkeypatch, 35, lambda: os.kill(os.getpid(), 15))  # SIGTERM: checkpoint
    with pytest.raises(checkpoint.Interrupted):
        run(compose_cfg(*RING), tmp_path / "b")
    real = (tmp_path / "b" / "checkpoints" / "step_000000035.pt").stat().st_size
    assert real <= estimated < 1.5 * real, (estimated, real)  # never under, not far over


# --- mid-run ------------------------------------------------------------------------------------

def test_enospc_on_metrics_mid_run_fails_the_run(compose_cfg, tmp_path, monkeypatch):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    metrics = tmp_path / "metrics.jsonl"

    def disk_fills_up() -> None:  # after the step-10 evaluation, every append hits ENOSPC
        metrics.unlink()
        metrics.symlink_to("/dev/full")

    _g_loss_hook(monkeypatch, 15, disk_fills_up)
    with pytest.raises(OSError) as e:
        run(compose_cfg(*RING), tmp_path)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(metrics)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["status"] == "failed" and saved["error_type"] == "OSError"
    assert saved["error"] == f"OSError: [Errno 28] No space left on device: '{metrics}'"
    assert not (tmp_path / "running.json").exists() and _no_temp_files(tmp_path)
    metrics.unlink()  # /dev/full reads as endless zeros: not for pytest's cleanup to walk


def test_enospc_in_a_checkpoint_keeps_the_previous_one_and_relaunch_resumes(
        compose_cfg, tmp_path, monkeypatch):
    real_save, saves = torch.save, {"n": 0}

    def save_on_a_filling_disk(obj, f, *args, **kwargs):
        saves["n"] += 1
        if saves["n"] == 2:  # the second checkpoint (step 20): half written, then ENOSPC
            buf = io.BytesIO()
            real_save(obj, buf, *args, **kwargs)
            f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
            raise _enospc()
        return real_save(obj, f, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(checkpoint.torch, "save", save_on_a_filling_disk)
        with pytest.raises(OSError) as e:
            run(compose_cfg(*RING), tmp_path)
    path = tmp_path / "checkpoints" / "step_000000020.pt"
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(path)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["status"] == "failed" and str(path) in saved["error"]
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step_000000010.pt"]
    assert _no_temp_files(tmp_path)
    # space freed, relaunched: resumes from step 10 and completes
    result = run(compose_cfg(*RING), tmp_path)
    assert result["status"] == "completed" and result["steps_done"] == 40
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").open()]
    assert steps == [10, 20, 30, 40]


def test_result_json_unwritable_too_leaves_a_log_line(compose_cfg, tmp_path, monkeypatch,
                                                      caplog):
    real_write_result = rundir.write_result

    def write_result_on_a_full_disk(run_dir: Path, obj: dict) -> None:
        path = Path(run_dir) / rundir.RESULT_FILE
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(rundir, "write_result", write_result_on_a_full_disk)
    assert real_write_result is not rundir.write_result
    _g_loss_hook(monkeypatch, 5, lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="boom"):
        run(compose_cfg(*RING), tmp_path)  # the run's own error, not the secondary one
    assert ("run failed (RuntimeError: boom) and its result could not be written: [Errno 28] "
            f"No space left on device: '{tmp_path / 'result.json'}'") in caplog.text
    assert not (tmp_path / "result.json").exists() and not (tmp_path / "running.json").exists()


# --- the writers themselves -----------------------------------------------------------------------

def test_write_result_never_leaves_half_a_file(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    rundir.write_result(tmp_path, {"status": "completed"})
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(_enospc()))
    with pytest.raises(OSError) as e:
        rundir.write_result(tmp_path, {"status": "failed", "error": "x" * 100_000})
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(path)
    assert rundir.read_result(tmp_path)["status"] == "completed"  # the old one, whole
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_metrics_append_is_one_write_and_a_short_write_is_undone(tmp_path, monkeypatch):
    log = MetricsLog(tmp_path)
    log.append({"step": 10, "fid": 1.5})
    before = log.path.read_bytes()
    real_write, writes = os.write, []

    def write_half(fd: int, data: bytes) -> int:  # a disk with room for half the line
        writes.append(len(data))
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", write_half)
    with pytest.raises(OSError) as e:
        log.append({"step": 20, "fid": 1.25, "losses": {"d_loss": 0.5}})
    assert len(writes) == 1  # the whole line in one write()
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(log.path)
    assert log.path.read_bytes() == before  # the half line is cut back off
    monkeypatch.setattr(os, "write", real_write)
    log.append({"step": 20, "fid": 1.25})
    assert [r["step"] for r in log.read()] == [10, 20]


def test_resume_after_a_truncated_metrics_line(compose_cfg, tmp_path, monkeypatch):
    ref = tmp_path / "ref"
    run(compose_cfg(*RING), ref)
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _g_loss_hook(m, 25, lambda: os.kill(os.getpid(), 15))
        with pytest.raises(checkpoint.Interrupted):
            run(compose_cfg(*RING), out)
    with (out / "metrics.jsonl").open("ab") as f:  # a line cut short by a lost node
        f.write(b'{"step": 30, "fid": 0.1')
    with pytest.warns(UserWarning, match=re.escape(f"{out / 'metrics.jsonl'}: skipped 1")):
        run(compose_cfg(*RING), out)
    fids = [(r["step"], r["fid"]) for r in map(json.loads, (out / "metrics.jsonl").open())]
    ref_fids = [(r["step"], r["fid"]) for r in map(json.loads, (ref / "metrics.jsonl").open())]
    assert fids == ref_fids
