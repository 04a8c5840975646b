"""Gradient penalties against independent computations, and the points they use."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from benchmark.nets import apply_spectral_norm
from benchmark.objectives.penalties import (
    dragan_perturb,
    gradient_penalty,
    interpolate,
    l2,
    r1,
    wgan_gp,
)


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


class _Square(nn.Module):
    """D(x) = c * sum(x^2): grad_x D = 2 c x, so ||grad||^2 = 4 c^2 ||x||^2."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, x: Tensor) -> Tensor:
        return self.c * x.flatten(1).square().sum(1)


def test_r1_by_hand_on_real_data_only() -> None:
    D = _Square(1.0)
    real = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # ||x||^2 = 1, 2
    fake = torch.full((2, 2), 100.0)  # never looked at
    penalty = r1(D, real, fake)
    # 1/2 E[4 c^2 ||x||^2] = 1/2 * (4 + 8) / 2 = 3
    assert penalty.item() == pytest.approx(3.0)
    # trains D: d/dc 2 c^2 E||x||^2 = 4 c * 1.5 = 6; the data gets no gradient
    penalty.backward()
    assert D.c.grad.item() == pytest.approx(6.0)


def test_r1_of_a_linear_critic_is_half_its_squared_slope() -> None:
    # f(x) = 3 x0 + 4 x1 + b: gradient (3, 4) everywhere, 1/2 * 25
    assert r1(_linear_critic([3.0, 4.0]), torch.randn(5, 2), torch.randn(5, 2)).item() == \
        pytest.approx(12.5)


def test_l2_is_the_mean_over_weight_layers_of_half_their_squared_norm() -> None:
    D = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1), nn.Linear(1, 1))
    with torch.no_grad():
        D[0].weight.copy_(torch.tensor([[3.0, 4.0]]))
        D[2].weight.fill_(2.0)
        D[0].bias.fill_(7.0)  # biases and the BN's scale are not decayed
    x = torch.randn(3, 2)
    # (1/2 * 25 + 1/2 * 4) / 2 layers
    assert l2(D, x, x).item() == pytest.approx(7.25)
    l2(D, x, x).backward()
    assert D[0].weight.grad.tolist() == [[1.5, 2.0]]  # d/dW (1/2 ||W||^2 / 2) = W / 2
    assert D[0].bias.grad is None and D[1].weight.grad is None


def test_l2_decays_the_raw_weight_under_spectral_norm() -> None:
    D = nn.Sequential(nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        D[0].weight.copy_(torch.tensor([[3.0, 4.0]]))
    apply_spectral_norm(D)
    x = torch.randn(3, 2)
    D(x)
    assert l2(D, x, x).item() == pytest.approx(12.5)  # not 1/2 * ||W / 5||^2 = 0.5


def test_wgan_gp_term_is_the_study_penalty_between_real_and_fake() -> None:
    # linear critic: slope 5 at every interpolate, whatever alpha is drawn
    D = _linear_critic([3.0, 4.0])
    assert wgan_gp(D, torch.randn(4, 2), torch.randn(4, 2)).item() == pytest.approx(
        (math.sqrt(1e-4 + 25) - 1) ** 2)
