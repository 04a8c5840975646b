"""conf/dataset/*.yaml build the right datasets through build_dataset (Hydra's instantiate of the
node, less the training-schedule keys, errors unwrapped)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmark.data import SCHEDULE_KEYS, Data, DatasetNotFoundError, build_dataset

CONF = Path(__file__).resolve().parents[2] / "conf" / "dataset"
NAMES = ["mnist", "fashion_mnist", "cifar10", "celeba", "digits", "ring8", "grid25", "triangles"]


def _cfg(name: str, root: Path, **overrides: object):
    # Mirror the root config: the group lands under `dataset`, `data.*` is defined alongside.
    cfg = OmegaConf.create({"data": {"root": str(root), "download": False}})
    node = OmegaConf.load(CONF / f"{name}.yaml")
    node.pop("defaults", None)  # consumed by Hydra's composition, never passed to the target
    cfg.dataset = OmegaConf.merge(node, overrides)
    return cfg


def test_all_configs_present() -> None:
    assert sorted(p.stem for p in CONF.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize(
    ("name", "overrides", "shape"),
    [
        ("digits", {}, (1, 16, 16)),
        ("ring8", {"n_train": 100, "n_test": 50}, (2,)),
        ("grid25", {"n_train": 100, "n_test": 50}, (2,)),
    ],
)
def test_offline_configs_instantiate(
    name: str, overrides: dict, shape: tuple, tmp_path: Path
) -> None:
    d = build_dataset(_cfg(name, tmp_path, **overrides).dataset)
    assert isinstance(d, Data)
    assert d.name == name
    assert d.sample_shape == shape


def test_image_config_reads_root(tmp_path: Path, idx_writer) -> None:
    idx_writer(tmp_path, "MNIST", n_train=3, n_test=2)
    d = build_dataset(_cfg("mnist", tmp_path).dataset)
    assert d.name == "mnist" and d.train.shape == (3, 1, 28, 28) and d.train.dtype == torch.uint8


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "celeba"])
def test_image_configs_report_missing_root(name: str, tmp_path: Path) -> None:
    cfg = _cfg(name, tmp_path / "empty")
    # Plain instantiate (of the builder's own keys) hides the error inside Hydra's wrapper;
    # build_dataset unwraps it.
    node = OmegaConf.to_container(cfg.dataset, resolve=True)
    with pytest.raises(InstantiationException) as info:
        instantiate({k: v for k, v in node.items() if k not in SCHEDULE_KEYS})
    assert isinstance(info.value.__cause__, DatasetNotFoundError)
    with pytest.raises(DatasetNotFoundError, match="download") as info:
        build_dataset(cfg.dataset)
    assert str(tmp_path / "empty") in str(info.value)


def test_build_dataset_returns_data(tmp_path: Path) -> None:
    d = build_dataset(_cfg("ring8", tmp_path, n_train=10, n_test=5).dataset)
    assert d.name == "ring8" and len(d.train) == 10


@pytest.mark.parametrize(
    ("dataset", "extra", "features"),
    [
        ("ring8", [], "RawFeatures"),
        ("grid25", [], "RawFeatures"),
        ("digits", [], "ClassifierFeatures"),
        ("ring8", ["features=classifier"], "ClassifierFeatures"),  # the command line wins
    ],
)
def test_toys_select_raw_features(dataset: str, extra: list[str], features: str) -> None:
    with initialize_config_dir(config_dir=str(CONF.parent), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"dataset={dataset}", *extra])
    assert cfg.features._target_.endswith(features)
    assert cfg.dataset.name == dataset
