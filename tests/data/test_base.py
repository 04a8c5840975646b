"""Data container and to_model_space."""

from __future__ import annotations

import pytest
import torch

from benchmark.data import Data, DatasetNotFoundError, to_model_space


def _images(seed: int = 0) -> Data:
    gen = torch.Generator().manual_seed(seed)
    return Data(
        name="tiny",
        train=torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8, generator=gen),
        test=torch.randint(0, 256, (5, 1, 4, 4), dtype=torch.uint8, generator=gen),
        train_labels=torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]),
        test_labels=torch.tensor([0, 1, 2, 3, 4]),
    )


def test_properties() -> None:
    d = _images()
    assert d.is_image
    assert d.sample_shape == (1, 4, 4)
    assert d.num_classes == 5
    points = Data("pts", torch.zeros(3, 2), torch.zeros(2, 2))
    assert not points.is_image
    assert points.sample_shape == (2,)
    assert points.num_classes is None


def test_split_and_labels() -> None:
    d = _images()
    assert d.split("train") is d.train
    assert d.split("test") is d.test
    assert d.labels("test") is d.test_labels
    with pytest.raises(ValueError, match="'train', 'test'"):
        d.split("valid")
    with pytest.raises(ValueError, match="'train', 'test'"):
        d.labels("val")


def test_fingerprint_stable_and_content_sensitive() -> None:
    a, b = _images(), _images()
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 32  # 16-byte blake2b digest in hex
    assert a.fingerprint() == a.fingerprint()

    changed = _images()
    changed.test[0, 0, 0, 0] ^= 1
    assert changed.fingerprint() != a.fingerprint()

    relabelled = _images()
    relabelled.train_labels[0] = 4
    assert relabelled.fingerprint() != a.fingerprint()

    renamed = _images()
    renamed.name = "other"
    assert renamed.fingerprint() != a.fingerprint()

    # Same bytes, different shape.
    reshaped = _images()
    reshaped.train = reshaped.train.reshape(10, 1, 2, 8)
    assert reshaped.fingerprint() != a.fingerprint()


def test_fingerprint_is_cached() -> None:
    d = _images()
    first = d.fingerprint()
    d.train[0] = 0  # tensors are meant to be immutable; the cache makes later calls free
    assert d.fingerprint() == first


def test_to_moves_and_keeps_fingerprint() -> None:
    d = _images()
    fp = d.fingerprint()
    moved = d.to("cpu")
    assert moved is not d
    assert torch.equal(moved.train, d.train)
    assert moved.name == d.name
    assert moved.fingerprint() == fp


def test_to_model_space() -> None:
    x = torch.tensor([0, 51, 255], dtype=torch.uint8)
    y = to_model_space(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y, torch.tensor([0.0, 0.2, 1.0]))
    pts = torch.randn(4, 2, dtype=torch.float64)
    out = to_model_space(pts)
    assert out.dtype == torch.float32
    assert torch.allclose(out, pts.float())
    with pytest.raises(TypeError):
        to_model_space(torch.arange(3))


def test_not_found_is_a_file_not_found_error() -> None:
    assert issubclass(DatasetNotFoundError, FileNotFoundError)


def test_fingerprint_handles_empty_and_float() -> None:
    d = Data("pts", torch.zeros(0, 2), torch.randn(3, 2))
    assert len(d.fingerprint()) == 32
