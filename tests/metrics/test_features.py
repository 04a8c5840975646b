from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmark.data.base import Data, to_model_space
from benchmark.data.toys import ring8
from benchmark.metrics import classifier
from benchmark.metrics.features import ClassifierFeatures, RawFeatures, state_dict_hash

REPO = Path(__file__).resolve().parents[2]


def tiny_images(channels: int, size: int, n: int = 64, classes: int = 3) -> Data:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % classes
    x = torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)
    return Data(name=f"tiny{channels}x{size}", train=x, test=x[:16].clone(),
                train_labels=labels, test_labels=labels[:16].clone())


# --- raw ---------------------------------------------------------------------------------


def test_raw_points_are_the_points() -> None:
    data = ring8(n_train=100, n_test=100)
    raw = RawFeatures(data)
    assert raw.name == "raw" and raw.dim == 2
    assert torch.equal(raw(data.test), data.test)
    assert raw.identity() == {"name": "raw", "dim": 2, "sample_shape": [2]}
    assert raw.weights_id() == "none"


def test_raw_images_are_flattened() -> None:
    data = tiny_images(3, 8)
    raw = RawFeatures(data, device="cpu")
    x = to_model_space(data.test)
    feats = raw(x)
    assert raw.dim == 3 * 8 * 8 and feats.shape == (16, 192)
    assert torch.equal(feats, x.reshape(16, -1))


def test_rejects_uint8_and_wrong_shape() -> None:
    data = tiny_images(1, 8)
    raw = RawFeatures(data)
    with pytest.raises(ValueError, match="to_model_space"):
        raw(data.test)
    with pytest.raises(ValueError, match="shape"):
        raw(torch.zeros(4, 1, 9, 9))


def test_raw_config_instantiates() -> None:
    data = ring8(n_train=10, n_test=10)
    raw = instantiate(OmegaConf.load(REPO / "conf/features/raw.yaml"), data=data, device="cpu")
    assert isinstance(raw, RawFeatures) and raw.dim == 2


def test_rejects_non_data() -> None:
    with pytest.raises(TypeError, match="_convert_: object"):
        RawFeatures({"train": torch.zeros(2, 2)})  # type: ignore[arg-type]


# --- classifier ----------------------------------------------------------------------------


def test_classifier_accuracy_and_provenance(digits_features: ClassifierFeatures,
                                            session_cache: Path) -> None:
    f = digits_features
    assert isinstance(f, ClassifierFeatures)  # built through Hydra from conf/features/classifier.yaml
    assert f.test_accuracy is not None and f.test_accuracy > 0.9
    assert f.path.is_relative_to(session_cache) and f.path.exists()
    sidecar = json.loads(f.path.with_name(f.path.name + ".json").read_text())
    assert sidecar["test_accuracy"] == f.test_accuracy
    assert sidecar["key"] == f.key and sidecar["weights_sha256"] == f.weights_hash
    ident = f.identity()
    assert ident["name"] == "classifier" and ident["dim"] == 64
    assert ident["key"] == f.key and ident["weights_sha256"] == f.weights_hash
    # Metrics rows record the hash of the trained weights (not only of the recipe).
    assert f.weights_id() == state_dict_hash(f.net.state_dict()) == f.weights_hash
    json.dumps(ident)  # JSON-able: it goes into cache keys and result records


def test_classifier_features(digits_features: ClassifierFeatures, digits16: Data) -> None:
    x = to_model_space(digits16.test[:10])
    feats = digits_features(x)
    assert feats.shape == (10, 64) and feats.dtype == torch.float32
    assert torch.isfinite(feats).all()
    assert torch.equal(feats, digits_features(x))  # eval mode: deterministic


def test_classifier_is_cached(digits_features: ClassifierFeatures, digits16: Data,
                              session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded, not retrained")

    monkeypatch.setattr(classifier, "train_classifier", no_training)
    monkeypatch.setenv("GANBENCH_CACHE", str(session_cache))
    again = instantiate(OmegaConf.load(REPO / "conf/features/classifier.yaml"), data=digits16)
    assert again.weights_hash == digits_features.weights_hash
    assert again.identity() == digits_features.identity()
    assert again.test_accuracy == digits_features.test_accuracy


def test_classifier_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tiny_images(1, 8)
    hashes = []
    for run, seed in [("a", 0), ("b", 0), ("c", 1)]:
        monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / run))  # fresh cache: trains each time
        hashes.append(ClassifierFeatures(data, seed=seed, epochs=2, batch_size=16).weights_hash)
    assert hashes[0] == hashes[1] != hashes[2]


@pytest.mark.parametrize(("channels", "size"), [(3, 8), (3, 32), (1, 28), (4, 12)])
def test_any_channels_and_size(channels: int, size: int) -> None:
    net = classifier.build_classifier(channels, 10, seed=0, feature_dim=32)
    x = torch.rand(2, channels, size, size)
    assert net(x).shape == (2, 10) and net.features(x).shape == (2, 32)


def test_classifier_on_colour_images() -> None:
    f = ClassifierFeatures(tiny_images(3, 8), epochs=1, feature_dim=16)
    assert f.dim == 16 and f(torch.rand(5, 3, 8, 8)).shape == (5, 16)


def test_classifier_needs_labelled_images() -> None:
    with pytest.raises(ValueError, match="use features=raw for points"):
        ClassifierFeatures(ring8(n_train=10, n_test=10))
    x = tiny_images(1, 8)
    unlabelled = Data(name="u", train=x.train, test=x.test)
    with pytest.raises(ValueError, match="needs labelled images"):
        ClassifierFeatures(unlabelled)


def test_init_does_not_touch_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    classifier.build_classifier(1, 10, seed=5)
    assert torch.equal(torch.rand(3), expected)
