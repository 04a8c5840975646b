from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.metrics.cache import ProcessMemo, cache_dir, cache_key, compute_once

REPO = Path(__file__).resolve().parents[2]


def write_int(value: int, path: Path) -> None:
    path.write_text(str(value))


def read_int(path: Path) -> int:
    return int(path.read_text())


class Counter:
    def __init__(self, value: int = 42) -> None:
        self.calls = 0
        self.value = value

    def __call__(self) -> int:
        self.calls += 1
        return self.value


def test_cache_dir_from_env(cache_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == cache_tmp
    monkeypatch.delenv("GANBENCH_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "ganbench"


def test_cache_key_is_canonical() -> None:
    a = cache_key({"b": 1, "a": {"y": [1, 2], "x": "s"}})
    b = cache_key({"a": {"x": "s", "y": [1, 2]}, "b": 1})
    assert a == b and len(a) == 16 and int(a, 16) >= 0
    assert cache_key({"b": 2}) != cache_key({"b": 1})
    with pytest.raises(TypeError):
        cache_key({"x": object()})


def test_second_call_loads(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "value.txt"
    count = Counter()
    fields = {"what": "answer"}
    assert compute_once(path, count, write_int, read_int, fields=fields) == 42
    assert compute_once(path, count, write_int, read_int, fields=fields) == 42
    assert count.calls == 1
    sidecar = json.loads((tmp_path / "sub" / "value.txt.json").read_text())
    assert sidecar["fields"] == fields and sidecar["key"] == cache_key(fields)
    # Only the artefact, its sidecar and the lock remain: temp files were renamed into place.
    assert sorted(p.name for p in path.parent.iterdir()) == ["value.txt", "value.txt.json", "value.txt.lock"]


def test_process_memo_reads_the_file_once(tmp_path: Path) -> None:
    path, count, reads = tmp_path / "value.txt", Counter(7), []

    def load(p: Path) -> int:
        reads.append(p)
        return read_int(p)

    memo = ProcessMemo()
    assert memo.get(path, count, write_int, load) == 7  # computed (no file yet: no read)
    path.write_text("8")  # the memo, not the file, answers now
    assert memo.get(path, count, write_int, load) == 7 and (count.calls, len(reads)) == (1, 0)
    memo.clear()
    assert memo.get(path, count, write_int, load) == 8 and (count.calls, len(reads)) == (1, 1)
    assert memo.get(tmp_path / "other.txt", count, write_int, load) == 7  # another path
    assert count.calls == 2


def test_describe_goes_into_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    compute_once(path, Counter(7), write_int, read_int, describe=lambda v: {"accuracy": v / 10})
    assert json.loads((tmp_path / "v.txt.json").read_text())["accuracy"] == 0.7


def test_corrupt_file_is_recomputed_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "value.txt"
    path.write_text("not an int")  # e.g. truncated by a crash of an older, non-atomic writer
    count = Counter()
    with pytest.warns(RuntimeWarning, match="value.txt"):
        assert compute_once(path, count, write_int, read_int) == 42
    assert count.calls == 1
    assert read_int(path) == 42


def test_failed_compute_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "value.txt"

    def boom() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        compute_once(path, boom, write_int, read_int)
    assert not path.exists()

    def bad_save(value: int, p: Path) -> None:
        p.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        compute_once(path, Counter(), bad_save, read_int)
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["value.txt.lock"]


# A sweep's first wave: many runs on an empty cache ask for the same reference statistics (and
# floor) at once. Each worker runs the real path (Evaluator.prepare → Reference.stats and
# fid.floor → compute_once → the feature pass); compute_once is wrapped only to log each
# computation it makes.
WORKER = """
import hashlib, os, sys, time
from pathlib import Path

from benchmark.data.toys import ring8
from benchmark.metrics import cache, fid
from benchmark.metrics.evaluator import Evaluator
from benchmark.metrics.features import RawFeatures

root, me, nproc = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = ring8(n_train=2000, n_test=2000)
ev = Evaluator(data, RawFeatures(data), ["fid"], num_samples=1000)
compute_once = cache.compute_once

def counted(path, compute, *args, fields=None, **kwargs):
    def logged():
        with open(root / "computations.log", "a") as f:
            f.write(f"{fields['kind']} {me}\\n")
        time.sleep(0.3)  # long enough that the others are waiting on the lock
        return compute()
    return compute_once(path, logged, *args, fields=fields, **kwargs)

cache.compute_once = counted
(root / f"ready-{me}").touch()
while len(list(root.glob("ready-*"))) < nproc:  # start barrier: all race for the lock together
    time.sleep(0.005)
ev.prepare()
ref = ev.reference.stats()
floor = fid.floor(ev.reference, ev.num_samples)
print(os.environ["GANBENCH_CACHE"], hashlib.sha256(ref.mu.tobytes() + ref.sigma.tobytes()).hexdigest(),
      ref.n, repr(floor))
"""


def test_concurrent_processes_compute_reference_stats_once(tmp_path: Path) -> None:
    nproc = 8
    cache = tmp_path / "cache"  # empty: nobody has computed anything yet
    env = {**os.environ, "GANBENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(i), str(nproc)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(nproc)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    lines = {out.strip() for out, _ in outputs}
    assert len(lines) == 1  # every process read the same statistics and floor
    (line,) = lines
    assert line.split()[0] == str(cache) and line.split()[2] == "2000"
    calls = (tmp_path / "computations.log").read_text().split("\n")
    kinds = sorted(c.split()[0] for c in calls if c)
    assert kinds == ["fid_floor", "fid_reference"]  # once each, for all eight
    assert len(list((cache / "fid_stats").glob("ring8-test-raw-*.npz"))) == 1
