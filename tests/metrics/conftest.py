"""Shared fixtures: a per-test cache dir, the digits data, and one classifier trained per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmark.data.base import Data
from benchmark.data.digits import digits

REPO = Path(__file__).resolve().parents[2]
CLASSIFIER_YAML = REPO / "conf" / "features" / "classifier.yaml"


@pytest.fixture(autouse=True)
def cache_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache dir, so nothing touches ~/.cache/ganbench."""
    path = tmp_path / "cache"
    monkeypatch.setenv("GANBENCH_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def digits16() -> Data:
    return digits(size=16)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir shared by the whole session: holds the one classifier trained from the config."""
    return tmp_path_factory.mktemp("session_cache")


@pytest.fixture(scope="session")
def digits_features(digits16: Data, session_cache: Path):
    """ClassifierFeatures built exactly as the harness does: Hydra, the shipped config, data kwarg."""
    # One intra-op thread while training: on a small CPU box shared with other test processes,
    # OpenMP threads spinning on busy cores made this several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GANBENCH_CACHE", str(session_cache))
            return instantiate(OmegaConf.load(CLASSIFIER_YAML), data=digits16, device="cpu")
    finally:
        torch.set_num_threads(threads)
