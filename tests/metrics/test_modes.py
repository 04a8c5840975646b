from __future__ import annotations

import math

import pytest
import torch

from benchmark.data.toys import grid25, ring8
from benchmark.metrics.modes import mode_metrics

STD = 0.02
RING = ring8(n_train=10, n_test=10).modes  # 8 modes on the circle of radius 2


def at(mode: int, k_std: float, angle: float = 0.3) -> list[float]:
    """A point k_std standard deviations from ring mode ``mode``, in direction ``angle``."""
    x, y = RING[mode].tolist()
    r = k_std * STD
    return [x + r * math.cos(angle), y + r * math.sin(angle)]


def test_hand_made_points() -> None:
    pts = torch.tensor([
        at(0, 0.0), at(0, 2.9), at(0, 3.1),  # HQ, HQ, not HQ (just outside 3 std)
        at(2, 1.0, angle=2.0),               # HQ
        at(5, 3.5),                          # not HQ: mode 5 stays uncovered
        [0.0, 0.0],                          # centre of the ring: far from every mode
    ])
    got = mode_metrics(pts, RING, STD)
    assert got == {"modes_covered": 2, "high_quality": pytest.approx(3 / 6)}
    assert isinstance(got["modes_covered"], int)
    # A wider threshold takes in the 3.1 and 3.5 std points (mode 5 now covered).
    assert mode_metrics(pts, RING, STD, n_std=4.0) == {"modes_covered": 3,
                                                       "high_quality": pytest.approx(5 / 6)}


def test_min_count() -> None:
    pts = torch.tensor([at(0, 0.5), at(0, 1.0), at(1, 0.5), at(3, 0.5), at(3, 1.5), at(3, 2.0)])
    assert mode_metrics(pts, RING, STD)["modes_covered"] == 3
    assert mode_metrics(pts, RING, STD, min_count=2)["modes_covered"] == 2
    assert mode_metrics(pts, RING, STD, min_count=3)["modes_covered"] == 1


def test_collapse_to_one_mode() -> None:
    pts = torch.tensor([at(4, 0.2 * i, angle=i) for i in range(10)])
    assert mode_metrics(pts, RING, STD) == {"modes_covered": 1, "high_quality": 1.0}


def test_non_finite_samples_are_never_high_quality() -> None:
    pts = torch.tensor([at(1, 0.0), [math.nan, 0.0], [math.inf, math.inf], at(6, 1.0)])
    assert mode_metrics(pts, RING, STD) == {"modes_covered": 2, "high_quality": 0.5}


@pytest.mark.parametrize("make", [ring8, grid25])
def test_real_data_covers_every_mode(make) -> None:
    data = make(n_train=10, n_test=5000)
    got = mode_metrics(data.test, data.modes, data.mode_std)
    assert got["modes_covered"] == data.modes.shape[0]
    # Isotropic 2-D Gaussian: P(‖x - μ‖ < 3σ) = P(χ²₂ < 9) = 1 - e^{-4.5} ≈ 0.9889.
    assert got["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)


def test_numpy_input_and_errors() -> None:
    pts = torch.tensor([at(0, 0.0), at(7, 1.0)])
    assert mode_metrics(pts.numpy(), RING.numpy(), STD) == mode_metrics(pts, RING, STD)
    with pytest.raises(ValueError, match="2-D"):
        mode_metrics(torch.zeros(3, 3), RING, STD)
    with pytest.raises(ValueError, match="positive"):
        mode_metrics(pts, RING, 0.0)
    with pytest.raises(ValueError, match="min_count"):
        mode_metrics(pts, RING, STD, min_count=0)
