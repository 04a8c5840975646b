"""The study's six GAN objectives as fixed classes: the oracles the presets (conf/gan/*.yaml, a
loss x penalty composition of `GAN`) are checked against, and the units the hand-computed loss
tests exercise. Only the tests use them; the harness builds its GANs from the config groups."""

from __future__ import annotations

from benchmark.objectives import losses, penalties
from benchmark.objectives.gans import GAN


class MMGAN(GAN):
    """Minimax GAN (Goodfellow et al. 2014): loss=mm, penalty=none.

    D: E[-log sigma(D(x))] + E[-log(1 - sigma(D(G(z))))];  G: E[log(1 - sigma(D(G(z))))].
    """

    def __init__(self) -> None:
        super().__init__(losses.bce_real_fake, losses.mm_generator)


class NSGAN(GAN):
    """Non-saturating GAN (Goodfellow et al. 2014): loss=ns, penalty=none.

    D: as MM GAN;  G: E[-log sigma(D(G(z)))].
    """

    def __init__(self) -> None:
        super().__init__(losses.bce_real_fake, losses.ns_generator)


class LSGAN(GAN):
    """Least-squares GAN (Mao et al. 2017), on sigmoid(D) as the study's code: loss=ls.

    D: 0.5 E[(sigma(D(x)) - 1)^2] + 0.5 E[sigma(D(G(z)))^2];  G: 0.5 E[(sigma(D(G(z))) - 1)^2].
    (The LSGAN paper uses D's raw output; compare_gan LSGAN.py squares the sigmoid output.)
    """

    def __init__(self) -> None:
        super().__init__(losses.least_squares_d, losses.least_squares_g)


class WGAN(GAN):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017): loss=wasserstein + clip.

    Critic: E[f(G(z))] - E[f(x)];  G: -E[f(G(z))];  after each critic step every critic
    parameter (batch-norm scales and shifts included, as compare_gan clips every D variable)
    is clamped to [-clip, clip].
    """

    def __init__(self, clip: float = 0.01) -> None:
        super().__init__(losses.wasserstein_d, losses.wasserstein_g, clip=clip)


class WGANGP(GAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017): loss=wasserstein, penalty=wgan_gp.

    Critic: E[f(G(z))] - E[f(x)] + penalty * E[(||grad f(x^)|| - 1)^2],
    x^ = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample;  G: -E[f(G(z))].
    The norm is sqrt(1e-4 + sum grad^2) over all non-batch dims, as compare_gan WGAN_GP.py.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        super().__init__(losses.wasserstein_d, losses.wasserstein_g, penalties.wgan_gp, penalty)


class DRAGAN(GAN):
    """DRAGAN (Kodali et al. 2017): NS GAN + a gradient penalty around the data (loss=ns,
    penalty=dragan).

    D: NS GAN's D loss + penalty * E[(sqrt(1e-4 + ||grad sigma(D(x^))||^2) - 1)^2],
    x_p = x + 0.5 std(x) U[0, 1) (std over the batch, noise per element),
    x^ = x + alpha (x_p - x), alpha ~ U[0, 1] per sample;  G: NS GAN's.

    The gradient is of D's sigmoid output, as in compare_gan DRAGAN.py (which differentiates
    D's probability output, unlike its WGAN-GP, which differentiates the critic's logits) and as
    in the paper's formula, whose D is a probability.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        super().__init__(losses.bce_real_fake, losses.ns_generator, penalties.dragan, penalty)
