from __future__ import annotations

import math

import pytest
import torch

from benchmark.data.toys import grid25, ring8
from benchmark.metrics.modes import MIN_SHARE, mode_metrics

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
    # 6 samples over 8 modes: a fifth of the fair share is 0.15 samples, so 1 HQ sample covers
    got = mode_metrics(pts, RING, STD)
    assert got == {"modes_covered": 2, "high_quality": pytest.approx(3 / 6)}
    assert isinstance(got["modes_covered"], int)
    # A wider threshold takes in the 3.1 and 3.5 std points (mode 5 now covered).
    assert mode_metrics(pts, RING, STD, n_std=4.0) == {"modes_covered": 3,
                                                       "high_quality": pytest.approx(5 / 6)}


def test_a_mode_needs_its_stated_share_of_the_samples() -> None:
    # 100 samples over 8 modes: fair share 12.5; a fifth of it, 2.5 samples, covers a mode.
    pts = ([at(0, 0.1 * (i % 20), angle=i) for i in range(80)]
           + [at(1, 1.0, angle=i) for i in range(15)]
           + [at(2, 1.0, angle=i) for i in range(3)]
           + [at(3, 1.0, angle=i) for i in range(2)])
    assert len(pts) == 100 and MIN_SHARE == 0.2
    assert mode_metrics(torch.tensor(pts), RING, STD)["modes_covered"] == 3  # 80, 15, 3 >= 2.5
    # half the fair share (6.25): modes 0 and 1 only
    assert mode_metrics(torch.tensor(pts), RING, STD, min_share=0.5)["modes_covered"] == 2
    # VEEGAN / PacGAN's count: one high-quality sample is enough, mode 3 too
    assert mode_metrics(torch.tensor(pts), RING, STD, min_share=0.0)["modes_covered"] == 4


def test_stray_points_do_not_cover_modes() -> None:
    # The toy: a generator with one point near each mode and the rest far away (0.4% high
    # quality) covers all 8 modes under the one-sample rule and none under the share rule.
    stray = [at(m, 0.5) for m in range(8)]
    far = [[5.0 + 0.001 * i, 5.0] for i in range(1992)]
    pts = torch.tensor(stray + far)
    assert mode_metrics(pts, RING, STD, min_share=0.0) == {
        "modes_covered": 8, "high_quality": pytest.approx(8 / 2000)}
    assert mode_metrics(pts, RING, STD)["modes_covered"] == 0


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
    with pytest.raises(ValueError, match="min_share"):
        mode_metrics(pts, RING, STD, min_share=1.5)
