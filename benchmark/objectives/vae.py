"""The study's VAE baseline (Kingma & Welling 2014), as compare_gan v1 `VAE.py`.

The "discriminator" is the Gaussian encoder q(z|x); the generator is the decoder p(x|z). Both
train together on the negative ELBO in the generator step; there is no discriminator step.
Samples are drawn with z ~ N(0, I) (`gan.latent: normal`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.nets import Architecture
from benchmark.objectives import losses
from benchmark.objectives.base import Logs, Objective, detached

LIKELIHOODS = ("bernoulli", "gaussian")
STD_FLOOR = 1e-6  # compare_gan VAE.py: stddev = 1e-6 + softplus(raw)


class VAE(Objective):
    """Variational auto-encoder; minimises -ELBO = -E_q[log p(x|z)] + KL(q(z|x) || N(0, I)).

    q(z|x) = N(mu, sigma^2) with (mu, raw) = encoder(x), sigma = 1e-6 + softplus(raw);
    z = mu + sigma * eps (reparameterisation, eps ~ N(0, I), one draw per sample).
    KL = 0.5 sum(mu^2 + sigma^2 - log(1e-8 + sigma^2) - 1).
    likelihood: "bernoulli" (images in [0, 1]: sum over pixels of the cross-entropy, decoder
    means clamped to [1e-8, 1 - 1e-8]), "gaussian" (unit variance, 0.5 sum (x - x^)^2, for
    points) or "auto" (bernoulli for image shapes (C, H, W), gaussian otherwise).
    Sums run over all dims of a sample, means over the batch. (compare_gan summed over H, W
    only and averaged over channels too; identical for 1-channel images, 1/C of ours for RGB.)
    Logs: g_loss, nll, kl.
    """

    discriminator_kind: ClassVar[str] = "encoder"
    trains_discriminator: ClassVar[bool] = False

    def __init__(self, likelihood: str = "auto") -> None:
        if likelihood not in ("auto", *LIKELIHOODS):
            raise ValueError(
                f"VAE likelihood={likelihood!r} is not known; valid: {('auto', *LIKELIHOODS)}"
            )
        self.likelihood = likelihood

    def build_discriminator(
        self, arch: Architecture, shape: Sequence[int], z_dim: int, norm: str
    ) -> nn.Module:
        """The encoder; also resolves likelihood="auto" from the data shape."""
        self.likelihood = self._resolve(len(shape))
        return super().build_discriminator(arch, shape, z_dim, norm)

    def _resolve(self, sample_dims: int) -> str:
        if self.likelihood != "auto":
            return self.likelihood
        return "bernoulli" if sample_dims == 3 else "gaussian"

    def generator_parameters(self, G: nn.Module, D: nn.Module) -> Iterable[nn.Parameter]:
        """Decoder and encoder: both train on the ELBO."""
        return itertools.chain(G.parameters(), D.parameters())

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        raise RuntimeError("the VAE has no discriminator step (trains_discriminator is False)")

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        """-ELBO on the real batch. `z` (prior samples) is unused: the VAE encodes `real`."""
        mean, raw = D(real).chunk(2, dim=1)
        std = STD_FLOOR + F.softplus(raw)
        z_q = mean + std * torch.randn_like(std)
        recon = G(z_q)
        if self._resolve(real.dim() - 1) == "bernoulli":
            nll = losses.bernoulli_nll(real, recon)
        else:
            nll = losses.gaussian_nll(real, recon)
        kl = losses.gaussian_kl(mean, std)
        loss = nll + kl
        return loss, detached(g_loss=loss, nll=nll, kl=kl)
