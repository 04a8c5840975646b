"""The objectives' loss formulas as small pure functions of network outputs.

Discriminator losses return (real term, fake term); the discriminator minimises their sum, and
the two terms are logged separately (as compare_gan's `d_loss_real`/`d_loss_fake` summaries).
Notation: l = logits D(x) for real x, l~ = D(G(z)) for fakes, sigma = sigmoid, E = batch mean.
A `loss=` config (conf/loss/*.yaml) pairs a D function (d) with a G function (g) from here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# compare_gan VAE.py clamps the decoder's Bernoulli means and offsets log(sigma^2) by these.
PROB_CLAMP = 1e-8
LOG_VAR_EPS = 1e-8


def bce_real_fake(d_real_logits: Tensor, d_fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Cross-entropy of the discriminator as a real/fake classifier (MM, NS, DRAGAN).

        real = E[-log sigma(l)]       = E[softplus(-l)]     (BCE with label 1)
        fake = E[-log(1 - sigma(l~))] = E[softplus(l~)]     (BCE with label 0)
    """
    return F.softplus(-d_real_logits).mean(), F.softplus(d_fake_logits).mean()


def ns_generator(d_fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: E[-log sigma(l~)] = E[softplus(-l~)]."""
    return F.softplus(-d_fake_logits).mean()


def mm_generator(d_fake_logits: Tensor) -> Tensor:
    """Minimax generator loss: E[log(1 - sigma(l~))] = -E[softplus(l~)].

    The negative of the discriminator's fake term (compare_gan GAN_MINMAX: g_loss = -d_loss_fake).
    """
    return -F.softplus(d_fake_logits).mean()


def least_squares_d(d_real_logits: Tensor, d_fake_logits: Tensor) -> tuple[Tensor, Tensor]:
    """LSGAN discriminator on the sigmoid output, as the study's code (compare_gan LSGAN.py):

        real = 0.5 * E[(sigma(l) - 1)^2],   fake = 0.5 * E[sigma(l~)^2]

    The LSGAN paper applies the squares to the raw output D(x); the study squashes it first.
    """
    real = 0.5 * (torch.sigmoid(d_real_logits) - 1).square().mean()
    fake = 0.5 * torch.sigmoid(d_fake_logits).square().mean()
    return real, fake


def least_squares_g(d_fake_logits: Tensor) -> Tensor:
    """LSGAN generator on the sigmoid output (study's code): 0.5 * E[(sigma(l~) - 1)^2]."""
    return 0.5 * (torch.sigmoid(d_fake_logits) - 1).square().mean()


def wasserstein_d(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Critic loss E[f(G(z))] - E[f(x)], as (real, fake) = (-E[f(x)], E[f(G(z))])."""
    return -d_real.mean(), d_fake.mean()


def wasserstein_g(d_fake: Tensor) -> Tensor:
    """Generator loss of WGAN / WGAN-GP: -E[f(G(z))]."""
    return -d_fake.mean()


def hinge_d(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Hinge loss of D (Lim & Ye 2017; Miyato et al. 2018), on D's raw output:

        real = E[relu(1 - D(x))],   fake = E[relu(1 + D(G(z)))]
    """
    return F.relu(1 - d_real).mean(), F.relu(1 + d_fake).mean()


def hinge_g(d_fake: Tensor) -> Tensor:
    """Generator loss of the hinge GAN: -E[D(G(z))] (as WGAN's)."""
    return -d_fake.mean()


def l1_reconstruction(x: Tensor, reconstruction: Tensor) -> Tensor:
    """BEGAN's auto-encoder loss L(v) = mean |v - D(v)|, over batch and all pixels
    (compare_gan BEGAN.py: reduce_mean(abs(out - x)))."""
    return (x - reconstruction).abs().mean()


def began_convergence(real_err: Tensor, fake_err: Tensor, gamma: float) -> Tensor:
    """BEGAN's convergence measure M = L(x) + |gamma * L(x) - L(G(z))|."""
    return real_err + (gamma * real_err - fake_err).abs()


def gaussian_kl(mean: Tensor, std: Tensor) -> Tensor:
    """KL(N(mean, std^2) || N(0, I)), summed over latent dims, averaged over the batch:

        0.5 * sum(mean^2 + std^2 - log(1e-8 + std^2) - 1)     (compare_gan VAE.py)
    """
    var = std.square()
    kl = 0.5 * (mean.square() + var - torch.log(LOG_VAR_EPS + var) - 1)
    return kl.flatten(1).sum(1).mean()


def bernoulli_nll(x: Tensor, probs: Tensor) -> Tensor:
    """-log p(x | z) for a Bernoulli decoder with means p (images in [0, 1]), summed over pixels,
    averaged over the batch; p clamped to [1e-8, 1 - 1e-8] as compare_gan VAE.py:

        -sum(x * log p + (1 - x) * log(1 - p))

    In float32 1 - 1e-8 rounds to 1 (a hole the study's float32 clip had: log(1 - p) = -inf
    and 0 * -inf = NaN once a sigmoid saturates), so the upper bound is at most the largest
    float below 1 (1 - 2^-24 in float32).
    """
    upper = 1 - max(PROB_CLAMP, torch.finfo(probs.dtype).eps / 2)
    p = probs.clamp(PROB_CLAMP, upper)
    ll = x * torch.log(p) + (1 - x) * torch.log(1 - p)
    return -ll.flatten(1).sum(1).mean()


def gaussian_nll(x: Tensor, mean: Tensor) -> Tensor:
    """-log p(x | z) for a unit-variance Gaussian decoder, without the constant:
    0.5 * sum((x - mean)^2), summed over dims, averaged over the batch (for point data)."""
    return 0.5 * (x - mean).square().flatten(1).sum(1).mean()
