"""A non-editable install works: the project built and installed as a user's `pip install .`
would (into a temporary target, no dependencies), and its console scripts run from another
directory, with the installed copy first on the path. The configs come from the package
(benchmark/config_dir.py), not from a source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# Top-level entries a build does not need: the environment, runs, caches, data, docs, tests.
NOT_BUILT = {".venv", ".git", "outputs", "multirun", "data", "docs", "tests", "build",
             ".pytest_cache", ".ruff_cache", ".cache"}


def _source_copy(dest: Path) -> Path:
    """The source tree without what a build ignores: the build writes its own files (build/,
    *.egg-info) into the copy, not into the tree other work goes on in."""
    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder).resolve() == REPO
        return [n for n in names if (top and n in NOT_BUILT) or n == "__pycache__"
                or n.endswith(".egg-info")]

    shutil.copytree(REPO, dest, symlinks=True, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install --target DIR .`: the project's wheel, unpacked, with its console scripts."""
    src = _source_copy(tmp_path_factory.mktemp("source") / "ganbench")
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--disable-pip-version-check",
                           "--target", str(target), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return target


def _run(installed: Path, script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # The installed copy first on the path, as a site-packages install would be.
    env = {**os.environ, "PYTHONPATH": str(installed), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([str(installed / "bin" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_configs_ship_in_the_package(installed: Path, tmp_path: Path) -> None:
    conf = installed / "benchmark" / "conf"
    assert not conf.is_symlink() and (conf / "config.yaml").is_file()
    shipped = {p.relative_to(conf) for p in conf.rglob("*.yaml")}
    source = {p.relative_to(REPO / "conf") for p in (REPO / "conf").rglob("*.yaml")
              if p.relative_to(REPO / "conf").parts[0] != "local"}
    assert shipped == source
    code = "import benchmark.config_dir as c; print(c.__file__); print(c.CONF_DIR)"
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert [Path(p) for p in out] == [installed / "benchmark" / "config_dir.py", conf]


def test_console_scripts_run_from_another_directory(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # no conf/ here, and no source tree above it
    elsewhere.mkdir()
    sweep = tmp_path / "sweep"  # a one-job multirun, so that gan-status has a sweep to read
    p = _run(installed, "gan-train", "-m", "gan=ns_gan", "dataset=ring8", "arch=mlp",
             "arch.hidden=16", "z_dim=8", "train.steps=4", "eval.every=2", "eval.num_samples=64",
             "train.progress=false", f"hydra.sweep.dir={sweep}", cwd=elsewhere)
    assert p.returncode == 0, p.stderr[-3000:]
    (result_file,) = sweep.glob("*/result.json")
    result = json.loads(result_file.read_text())
    assert (result["status"], result["steps_done"], result["gan"]) == ("completed", 4, "ns_gan")

    p = _run(installed, "gan-status", str(sweep), "--json", cwd=elsewhere)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "completed" in p.stdout

    p = _run(installed, "gan-analyze", "collect", str(sweep), "--out", str(tmp_path / "c"),
             cwd=elsewhere)
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "c" / "runs.parquet").is_file()

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.savez(elsewhere / f"{name}.npz",
                 images=rng.integers(0, 256, (32, 8, 8, 1), dtype=np.uint8))
    p = _run(installed, "gan-fid", "a.npz", "b.npz", "--features", "raw", "--json",
             cwd=elsewhere)
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout)["fid"] >= 0
