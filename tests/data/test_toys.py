"""2-D Gaussian-mixture toys."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.data.toys import grid25, ring8

BUILDERS = [ring8, grid25]


@pytest.mark.parametrize("build", BUILDERS)
def test_shapes_and_fields(build) -> None:
    d = build(n_train=500, n_test=200)
    assert d.name == build.__name__
    assert d.train.shape == (500, 2) and d.test.shape == (200, 2)
    assert d.train.dtype == torch.float32
    assert d.train_labels.dtype == torch.int64 and d.test_labels.shape == (200,)
    assert not d.is_image
    assert d.num_classes == len(d.modes)
    assert d.mode_std > 0


def test_mode_layouts() -> None:
    ring = ring8(n_train=8, n_test=8, radius=3.0)
    assert ring.modes.shape == (8, 2)
    assert torch.allclose(ring.modes.norm(dim=1), torch.full((8,), 3.0))
    angles = torch.atan2(ring.modes[:, 1], ring.modes[:, 0])
    gaps = torch.diff(torch.sort(torch.remainder(angles, 2 * math.pi)).values)
    assert torch.allclose(gaps, torch.full((7,), math.pi / 4), atol=1e-5)

    grid = grid25(n_train=8, n_test=8)
    assert grid.modes.shape == (25, 2)
    coords = {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert set(grid.modes[:, 0].tolist()) == coords == set(grid.modes[:, 1].tolist())
    assert len({tuple(m) for m in grid.modes.tolist()}) == 25


@pytest.mark.parametrize("build", BUILDERS)
def test_points_near_their_modes(build) -> None:
    d = build(n_train=2000, n_test=500)
    for x, y in ((d.train, d.train_labels), (d.test, d.test_labels)):
        dist = (x - d.modes[y]).norm(dim=1)
        assert dist.max() < 6 * d.mode_std  # 2-D Gaussian: P(r > 6 std) ~ 1.5e-8
        # The nearest mode is the labelled one.
        assert torch.equal(torch.cdist(x, d.modes).argmin(dim=1), y)
        # Every mode is used.
        assert len(torch.unique(y)) == len(d.modes)


@pytest.mark.parametrize("build", BUILDERS)
def test_seed_determinism(build) -> None:
    a, b = build(n_train=300, n_test=100, seed=4), build(n_train=300, n_test=100, seed=4)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    c = build(n_train=300, n_test=100, seed=5)
    assert not torch.equal(a.train, c.train)
    # Train and test come from different streams, not the same draws.
    assert not torch.equal(a.train[:100], a.test)


def test_invalid_params() -> None:
    with pytest.raises(ValueError):
        ring8(n_train=0)
    with pytest.raises(ValueError):
        grid25(std=0.0)
