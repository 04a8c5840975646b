"""Gradient penalties against independent computations, and the points they use."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from benchmark.objectives.penalties import dragan_perturb, gradient_penalty, interpolate


def _linear_critic(w: list[float], b: float = 0.3) -> nn.Module:
    lin = nn.Linear(len(w), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(b)
    return nn.Sequential(nn.Flatten(), lin, nn.Flatten(0))


def test_linear_critic_has_gradient_w_everywhere() -> None:
    # f(x) = w.x + b: grad = w at every point, ||w|| = 5, penalty (5 - 1)^2 = 16.
    D = _linear_critic([3.0, 4.0])
    points = torch.randn(7, 2)
    assert gradient_penalty(D, points).item() == pytest.approx(16.0)
    assert gradient_penalty(D, points, eps=1e-4).item() == pytest.approx(
        (math.sqrt(1e-4 + 25) - 1) ** 2)


def test_norm_runs_over_all_non_batch_dims() -> None:
    # On (B, 1, 2, 2) images with w of all 0.5: ||grad|| = sqrt(4 * 0.25) = 1, penalty 0.
    D = _linear_critic([0.5] * 4)
    assert gradient_penalty(D, torch.rand(3, 1, 2, 2)).item() == pytest.approx(0.0, abs=1e-12)


def test_zero_gradient_gives_finite_penalty_and_gradient() -> None:
    D = _linear_critic([0.0, 0.0])
    gp = gradient_penalty(D, torch.randn(4, 2))
    gp.backward()
    assert gp.item() == 1.0
    # The bias does not move the gradient, so it gets none.
    assert torch.isfinite(D[1].weight.grad).all() and D[1].bias.grad is None


class _Cubic(nn.Module):
    """f(x) = sum(a * x^3) + x0 * x1: nonlinear, with a gradient that depends on x."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor([0.5, -1.0], dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        return (self.a * x**3).sum(1) + x[:, 0] * x[:, 1]


def test_nonlinear_critic_against_finite_differences() -> None:
    D = _Cubic()
    points = torch.tensor([[0.3, -0.7], [1.2, 0.4], [-0.5, 0.9]], dtype=torch.float64)
    h = 1e-6
    slopes = []
    for x in points:
        grad = []
        for i in range(2):
            e = torch.zeros(2, dtype=torch.float64)
            e[i] = h
            with torch.no_grad():
                grad.append((D((x + e)[None]) - D((x - e)[None])).item() / (2 * h))
        slopes.append(math.hypot(*grad))
    expected = sum((s - 1) ** 2 for s in slopes) / len(slopes)
    assert gradient_penalty(D, points).item() == pytest.approx(expected, rel=1e-7)
    eps_expected = sum((math.sqrt(1e-4 + s * s) - 1) ** 2 for s in slopes) / len(slopes)
    assert gradient_penalty(D, points, eps=1e-4).item() == pytest.approx(eps_expected, rel=1e-7)


def test_penalty_trains_the_critic_and_not_the_points() -> None:
    D = _linear_critic([3.0, 4.0])
    points = torch.randn(5, 2, requires_grad=True)
    gradient_penalty(D, points).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [3, 4] / 5
    assert D[1].weight.grad[0].tolist() == pytest.approx([4.8, 6.4])
    assert points.grad is None


def test_interpolate_per_sample() -> None:
    real = torch.zeros(2, 1, 2, 2)
    other = torch.ones(2, 1, 2, 2)
    out = interpolate(real, other, torch.tensor([0.25, 1.0]))
    assert torch.equal(out[0], torch.full((1, 2, 2), 0.25))
    assert torch.equal(out[1], torch.ones(1, 2, 2))


def test_interpolate_draws_one_alpha_per_sample_in_unit_interval() -> None:
    torch.manual_seed(0)
    out = interpolate(torch.zeros(64, 3), torch.ones(64, 3))
    assert torch.equal(out[:, 0], out[:, 1])  # one alpha per sample, shared across dims
    assert out.min() >= 0 and out.max() <= 1
    assert out[:, 0].unique().numel() == 64


def test_dragan_perturb_matches_the_study_formula() -> None:
    real = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    # numpy-style (population) std over all 4 values: mean 0.75, var 0.1875.
    std = math.sqrt(0.1875)
    torch.manual_seed(3)
    noise = torch.rand(2, 2)
    torch.manual_seed(3)
    out = dragan_perturb(real)
    assert torch.allclose(out, real + 0.5 * std * noise)
    assert torch.all(out >= real) and torch.all(out - real < 0.5 * std)
