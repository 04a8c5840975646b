"""Shared fixtures: the real configs, composed with everything shrunk for CPU tests."""

from __future__ import annotations

from collections.abc import Callable

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
