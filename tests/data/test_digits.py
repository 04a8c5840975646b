"""scikit-learn digits builder."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits

from benchmark.data.digits import digits


def test_sizes_and_stratified_split() -> None:
    d = digits()
    assert d.name == "digits"
    assert len(d.train) + len(d.test) == 1797
    assert len(d.test) == 360  # ceil(0.2 * 1797)
    assert d.train.dtype == torch.uint8
    assert d.train.shape[1:] == (1, 16, 16)
    assert d.num_classes == 10
    # Stratified: every class's share of the test set matches its share overall.
    counts = torch.bincount(torch.cat([d.train_labels, d.test_labels]), minlength=10)
    test_counts = torch.bincount(d.test_labels, minlength=10)
    assert torch.all((test_counts - 0.2 * counts).abs() <= 1)


def test_size_8_is_the_scaled_original() -> None:
    d = digits(size=8, name="d8")
    assert d.name == "d8"
    bunch = load_digits()
    original = torch.from_numpy(bunch.images * 255.0 / 16.0).round().to(torch.uint8)
    # Find each stored image among the originals by label-consistent exact match.
    for img, label in zip(d.test[:20], d.test_labels[:20], strict=True):
        matches = (original == img[0]).flatten(1).all(1).nonzero().flatten()
        assert len(matches) >= 1
        assert int(bunch.target[int(matches[0])]) == int(label)
    assert int(d.train.max()) == 255


@pytest.mark.parametrize("size", [12, 32])
def test_size_param(size: int) -> None:
    d = digits(size=size)
    assert d.sample_shape == (1, size, size)


@pytest.mark.parametrize("size", [4, 10, 0, 18])
def test_invalid_size(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        digits(size=size)


def test_deterministic_and_seeded() -> None:
    a, b = digits(), digits()
    assert a.fingerprint() == b.fingerprint()
    c = digits(split_seed=1)
    assert not torch.equal(a.test_labels, c.test_labels) or not torch.equal(a.test, c.test)
