"""Every loss formula against numbers worked out by hand.

Logits l = [0, ln 3] have sigmoid [1/2, 3/4]; l~ = [-ln 3, 0] have sigmoid [1/4, 1/2].
"""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.objectives import losses

LN3 = math.log(3)
REAL = torch.tensor([0.0, LN3])  # sigmoid: 0.5, 0.75
FAKE = torch.tensor([-LN3, 0.0])  # sigmoid: 0.25, 0.5


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-6, abs=1e-7)


def test_bce_real_fake() -> None:
    real, fake = losses.bce_real_fake(REAL, FAKE)
    assert real.item() == approx((-math.log(0.5) - math.log(0.75)) / 2)
    assert fake.item() == approx((-math.log(1 - 0.25) - math.log(1 - 0.5)) / 2)


def test_bce_is_stable_for_large_logits() -> None:
    real, fake = losses.bce_real_fake(torch.tensor([200.0, -200.0]), torch.tensor([-200.0, 200.0]))
    # -log sigma(200) ~ 0, -log sigma(-200) = 200.
    assert real.item() == approx(100.0)
    assert fake.item() == approx(100.0)


def test_ns_generator() -> None:
    assert losses.ns_generator(FAKE).item() == approx((-math.log(0.25) - math.log(0.5)) / 2)


def test_mm_generator() -> None:
    # E[log(1 - D(G(z)))]: the negative of D's fake term.
    assert losses.mm_generator(FAKE).item() == approx((math.log(0.75) + math.log(0.5)) / 2)


def test_least_squares_on_sigmoid_outputs() -> None:
    real, fake = losses.least_squares_d(REAL, FAKE)
    assert real.item() == approx(0.5 * ((0.5 - 1) ** 2 + (0.75 - 1) ** 2) / 2)  # 0.078125
    assert fake.item() == approx(0.5 * (0.25**2 + 0.5**2) / 2)  # 0.078125
    assert losses.least_squares_g(FAKE).item() == approx(0.5 * ((0.25 - 1) ** 2 + 0.25) / 2)


def test_wasserstein() -> None:
    real, fake = losses.wasserstein_d(torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0]))
    assert (real.item(), fake.item()) == (-2.0, -1.0)  # critic loss -1 - 2 = -3
    assert losses.wasserstein_g(torch.tensor([-2.0, 0.0])).item() == 1.0


def test_l1_reconstruction_is_a_mean_over_batch_and_pixels() -> None:
    x = torch.tensor([[[[1.0, 0.0], [0.5, 0.0]]], [[[0.0, 0.0], [0.0, 1.0]]]])  # (2, 1, 2, 2)
    recon = torch.full_like(x, 0.5)
    # |diffs|: 0.5, 0.5, 0, 0.5 | 0.5, 0.5, 0.5, 0.5  -> 3.5 / 8
    assert losses.l1_reconstruction(x, recon).item() == approx(3.5 / 8)


def test_began_convergence() -> None:
    # 0.8 + |0.75 * 0.8 - 0.7| = 0.9
    M = losses.began_convergence(torch.tensor(0.8), torch.tensor(0.7), 0.75)
    assert M.item() == approx(0.9)


def test_gaussian_kl_is_zero_at_the_prior() -> None:
    assert abs(losses.gaussian_kl(torch.zeros(4, 3), torch.ones(4, 3)).item()) < 1e-7


def test_gaussian_kl_by_hand() -> None:
    mean = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    std = torch.tensor([[1.0, 2.0], [0.5, 1.0]])
    per_dim = [
        0.5 * (1 + 1 - math.log(1 + 1e-8) - 1),  # mu=1, sigma=1: 0.5
        0.5 * (0 + 4 - math.log(4 + 1e-8) - 1),  # sigma=2: 0.5 * (3 - ln 4)
        0.5 * (0 + 0.25 - math.log(0.25 + 1e-8) - 1),
        0.5 * (0 + 1 - math.log(1 + 1e-8) - 1),
    ]
    # Summed over the 2 latent dims, averaged over the 2 samples.
    assert losses.gaussian_kl(mean, std).item() == approx(sum(per_dim) / 2)


def test_bernoulli_nll_by_hand() -> None:
    x = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])  # (1, 1, 2, 2)
    probs = torch.full_like(x, 0.25)
    expected = -(2 * math.log(0.25) + 2 * math.log(0.75))
    assert losses.bernoulli_nll(x, probs).item() == approx(expected)


def test_bernoulli_nll_clamps_probabilities() -> None:
    # The worst predictions cost log(1e-8) each, not inf.
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    probs = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    assert losses.bernoulli_nll(x, probs).item() == approx(-2 * math.log(1e-8))
    # float32 cannot hold 1 - 1e-8: the upper clamp is the largest float below 1, 1 - 2^-24.
    nll32 = losses.bernoulli_nll(x.float(), probs.float())
    assert nll32.item() == approx(-math.log(1e-8) - math.log(2**-24))


def test_bernoulli_nll_is_finite_where_a_float32_sigmoid_saturates() -> None:
    x = torch.tensor([[1.0, 0.0]])
    probs = torch.sigmoid(torch.tensor([[40.0, -40.0]], requires_grad=True))
    assert probs[0, 0].item() == 1.0  # saturated in float32
    nll = losses.bernoulli_nll(x, probs)
    assert math.isfinite(nll.item()) and nll.item() < 1e-6


def test_gaussian_nll_by_hand() -> None:
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    mean = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    # 0.5 * (1 + 4) and 0.5 * 9, averaged over the batch.
    assert losses.gaussian_nll(x, mean).item() == approx((2.5 + 4.5) / 2)


def test_hinge_by_hand() -> None:
    d_real, d_fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 0.5])
    real, fake = losses.hinge_d(d_real, d_fake)
    # relu(1 - [2, 0.5, -1]) = [0, 0.5, 2];  relu(1 + [-2, 0, 0.5]) = [0, 1, 1.5]
    assert (real.item(), fake.item()) == (approx(2.5 / 3), approx(2.5 / 3))
    assert losses.hinge_g(d_fake).item() == approx(0.5)  # -mean([-2, 0, 0.5])


def test_hinge_d_has_no_gradient_beyond_the_margin() -> None:
    # Confident D (real > 1, fake < -1) is not pushed further, unlike the Wasserstein critic.
    d_real = torch.tensor([1.5, 0.0], requires_grad=True)
    d_fake = torch.tensor([-3.0, 0.0], requires_grad=True)
    sum(losses.hinge_d(d_real, d_fake)).backward()
    assert d_real.grad.tolist() == [0.0, -0.5] and d_fake.grad.tolist() == [0.0, 0.5]
