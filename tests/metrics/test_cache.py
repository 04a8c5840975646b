from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.metrics.cache import cache_dir, cache_key, compute_once

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


WORKER = """
import sys, time
from pathlib import Path
from benchmark.metrics.cache import compute_once

root, me, nproc = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
(root / f"ready-{me}").touch()
while len(list(root.glob("ready-*"))) < nproc:  # start barrier: all race for the lock together
    time.sleep(0.005)

def compute():
    with open(root / "calls.log", "a") as f:
        f.write(me + "\\n")
    time.sleep(0.3)  # long enough that the others are waiting on the lock
    return 1234

value = compute_once(root / "artefact.txt", compute, lambda v, p: p.write_text(str(v)),
                     lambda p: int(p.read_text()))
print(value)
"""


def test_concurrent_processes_compute_once(tmp_path: Path) -> None:
    nproc = 4
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(i), str(nproc)],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(nproc)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "1234"
    assert len((tmp_path / "calls.log").read_text().split()) == 1
