"""Shared fixtures: the real configs, composed with everything shrunk for CPU tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import DictConfig

from benchmark.config_dir import compose

# Small enough that a whole run takes a second or two on one CPU core.
TINY = [
    "train.steps=20",
    "train.batch_size=16",
    "train.progress=false",
    "eval.every=10",
    "eval.num_samples=64",
    "eval.batch_size=64",
    "z_dim=8",
]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One cache per test session: classifier and reference statistics are computed once, and
    # never land in (or come from) the user's real cache.
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def compose_cfg() -> Callable[..., DictConfig]:
    """compose_cfg(*overrides) -> the real root config with TINY settings and the overrides."""

    def _compose(*overrides: str) -> DictConfig:
        return compose([*TINY, *overrides])

    return _compose


# --- a real study in miniature, made once per test session by the real commands -------------

# The study's phase sweeps (conf/sweep/phase1_wide.yaml, phase3_seeds.yaml) with only their sizes
# shrunk: 2 objectives x 3 hyperparameter samples on the ring, then the best of each x 2 seeds.
MINI = ["dataset=ring8", "arch=mlp", "arch.hidden=32", "~arch.bn_momentum", "features=raw", "train.epochs=null",
        "eval.every_epochs=null", "train.steps=60", "eval.every=20", "eval.num_samples=256",
        "eval.metrics=[fid,modes]", "z_dim=8", "train.threads=1", "gan=ns_gan,wgan_gp"]


@dataclass
class MiniStudy:
    """The directories and selection file of `mini_study`."""

    search: Path       # phase 1: gan x sample=range(0,3), seed 0
    selection: Path    # gan-analyze best search --out selection
    seeds: Path        # phase 3: the selected sample of each gan x seed=0,1


def _gan_train(*args: str, cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmark.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="session")
def mini_study(tmp_path_factory: pytest.TempPathFactory) -> MiniStudy:
    """Phase 1 -> best -> phase 3 in miniature, through exactly the commands a cluster user runs
    (gan-train, gan-analyze best), on the local launcher: ~1 min on one core, once per session.
    Read-only for the tests that share it."""
    root = tmp_path_factory.mktemp("mini_study")
    env = {**os.environ, "GANBENCH_CACHE": str(tmp_path_factory.getbasetemp() / "cache")}
    study = MiniStudy(root / "phase1", root / "best.json", root / "phase3")
    _gan_train("+sweep=phase1_wide", *MINI, "sample=range(0,3)", f"hydra.sweep.dir={study.search}",
               cwd=root, env=env)
    proc = subprocess.run([sys.executable, "-m", "analysis", "best", str(study.search),
                           "--out", str(study.selection)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _gan_train("+sweep=phase3_seeds", *MINI, f"best={study.selection}", "seed=0,1",
               f"hydra.sweep.dir={study.seeds}", cwd=root, env=env)
    return study
