"""benchmark/rundir.py (the run directory's files) and benchmark/identity.py (what makes two
runs the same), checked against hand-computed values and real processes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from benchmark import identity, rundir
from benchmark.rundir import MetricsLog, RunBusy, RunLock


def test_write_result_is_atomic_and_tags_the_schema(tmp_path):
    rundir.write_result(tmp_path, {"status": "completed", "a": 1})
    rundir.write_result(tmp_path, {"status": "completed", "x": float("nan")})
    assert json.loads((tmp_path / "result.json").read_text()) == {
        "status": "completed", "x": "nan", "schema_version": rundir.SCHEMA_VERSION}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    assert oct((tmp_path / "result.json").stat().st_mode & 0o777) != oct(0o600)  # readable


def test_metrics_log_appends_lines(tmp_path):
    log = MetricsLog(tmp_path)
    log.append({"step": 1, "fid": 3.5})
    log.append({"step": 2, "fid": float("inf")})
    assert log.read() == [{"step": 1, "fid": 3.5}, {"step": 2, "fid": "inf"}]
    assert rundir.number(log.read()[1]["fid"]) == float("inf")


def test_config_hash_is_sha256_of_the_sorted_identity_items():
    flat = {"gan.lr": 1e-4, "seed": 3, "train.progress": True, "device": "cuda"}
    # by hand: progress bar and device are not identity; sorted (key, value) pairs as JSON
    expected = hashlib.sha256(json.dumps([["gan.lr", 1e-4], ["seed", 3]]).encode()).hexdigest()
    assert identity.config_hash(flat) == expected[:16]
    setting = hashlib.sha256(json.dumps([["gan.lr", 1e-4]]).encode()).hexdigest()[:16]
    assert identity.setting_id(flat) == setting == identity.setting_id({**flat, "seed": 4})
    assert identity.config_hash({**flat, "seed": 4}) != identity.config_hash(flat)


def test_non_identity_keys_cover_their_subkeys_and_nothing_else():
    assert not identity.is_identity_key("lookup.steps.ring8")
    assert not identity.is_identity_key("dataset.root")
    assert identity.is_identity_key("train.steps") and identity.is_identity_key("devices")
    assert identity.is_identity_key("train.amp")  # bfloat16 changes the numbers
    flat = identity.flatten({"hydra": {"x": 1}, "train": {"steps": 5, "progress": True},
                             "eval": {"metrics": ["fid"], "options": {}}})
    assert flat == {"train.steps": 5, "train.progress": True, "eval.metrics": ["fid"],
                    "eval.options": {}}
    assert set(identity.override_exclude_keys()) >= {"train.progress", "train.threads",
                                                       "launcher", "sweep"}


def test_load_reads_every_file_and_reports_what_it_cannot(tmp_path):
    ident = rundir.write_config(tmp_path, {"gan.name": "ns_gan", "seed": 0})
    MetricsLog(tmp_path).append({"step": 10, "fid": 5.0})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 20, "fi')  # a write cut off by a lost node
    assert rundir.load(tmp_path).status == rundir.UNFINISHED
    rundir.write_running(tmp_path, started=1.0, slurm_job_id="7_1")
    run = rundir.load(tmp_path)
    assert run.status == rundir.RUNNING and run.running["slurm_job_id"] == "7_1"
    assert run.config == {"gan.name": "ns_gan", "seed": 0}
    assert run.config_hash == ident["config_hash"] and run.evaluations == [{"step": 10, "fid": 5.0}]
    assert run.problems == ["metrics.jsonl: 1 unreadable line(s) skipped (a truncated write?)"]
    (tmp_path / "result.json").write_text('{"status": "completed", "fin')
    assert rundir.load(tmp_path).status == rundir.CORRUPT
    assert rundir.read_result(tmp_path) is None
    assert rundir.load(tmp_path / "nothing") is None


_HOLDER = """
import sys, time
from benchmark.rundir import RunLock, write_running
with RunLock(sys.argv[1]):
    write_running(sys.argv[1], started=time.time(), slurm_job_id=None)
    print("held", flush=True)
    time.sleep(600)
"""


def test_one_live_process_per_run_dir_and_a_dead_holder_does_not_block(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert rundir.holder_alive(tmp_path) is True
        started = time.monotonic()
        with pytest.raises(RunBusy, match=f"pid {holder.pid}"), RunLock(tmp_path, timeout=0.5):
            pass
        assert time.monotonic() - started < 5
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # no cleanup: running.json stays behind
        holder.wait()
    assert (tmp_path / "running.json").exists()
    assert rundir.holder_alive(tmp_path) is False
    with RunLock(tmp_path, timeout=0.5):  # the kernel released the dead holder's lock
        assert rundir.holder_alive(tmp_path) is True
