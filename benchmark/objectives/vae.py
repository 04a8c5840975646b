"""The study's VAE baseline (Kingma & Welling 2014), as compare_gan v1 `VAE.py` (@49495fd).

The "discriminator" is the Gaussian encoder q(z|x); the generator is the decoder p(x|z). Both
train together on the negative ELBO in the generator step; there is no discriminator step.
Samples are drawn with z ~ N(0, I) (`gan.latent: normal`; compare_gan's evaluation drew U(-1, 1)
for every model at 49495fd and z_generator, N(0, I) for the VAE, from fbbc05a on).

Two study forms are the defaults, each with the other form as an option:
- `recon_reduction`: "channel_mean" (study) or "sum" (the textbook ELBO; ours before).
- `decoder_activation`: "relu" (study: `VAE.decoder` uses tf.nn.relu) or "lrelu" (the GANs'
  generator reused; ours before). Applied by `build_generator` on the infogan architecture.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmark.nets import Architecture, InfoGAN
from benchmark.objectives import losses
from benchmark.objectives.base import Logs, Objective, detached

LIKELIHOODS = ("bernoulli", "gaussian")
# How the reconstruction term reduces over an image's channels (see VAE).
RECON_REDUCTIONS = ("channel_mean", "sum")
DECODER_ACTIVATIONS = ("relu", "lrelu")
STD_FLOOR = 1e-6  # compare_gan VAE.py: stddev = 1e-6 + softplus(raw)


class VAE(Objective):
    """Variational auto-encoder; minimises -ELBO = -E_q[log p(x|z)] + KL(q(z|x) || N(0, I)).

    q(z|x) = N(mu, sigma^2) with (mu, raw) = encoder(x), sigma = 1e-6 + softplus(raw);
    z = mu + sigma * eps (reparameterisation, eps ~ N(0, I), one draw per sample).
    KL = 0.5 sum(mu^2 + sigma^2 - log(1e-8 + sigma^2) - 1).
    likelihood: "bernoulli" (images in [0, 1]: the cross-entropy, decoder means clamped to
    [1e-8, 1 - 1e-8]), "gaussian" (unit variance, 0.5 (x - x^)^2, for points) or "auto"
    (bernoulli for image shapes (C, H, W), gaussian otherwise).

    recon_reduction, for images (C, H, W) with per-pixel term l_chw:
        "channel_mean" (default; compare_gan VAE.py@49495fd: reduce_sum over axes [1, 2] of the
                        NHWC batch, then reduce_mean over batch and channel):
                        nll = mean_b (1/C) sum_{c,h,w} l_bchw
        "sum"          (the ELBO of Kingma & Welling; ours before): nll = mean_b sum_{c,h,w} l_bchw
    They agree on 1-channel images; on RGB the study's reconstruction term is 1/3 of the sum, so
    its KL term weighs 3x as much relative to it. Point data (D,) has no channel axis: both sum.
    The KL term is summed over latent dims and averaged over the batch either way.

    decoder_activation: "relu" (default; compare_gan VAE.decoder) or "lrelu" (the GANs'
    generator, 0.2): the hidden activation `build_generator` asks the infogan architecture for.
    Other architectures build their own generator whatever this says.
    Logs: g_loss, nll, kl.
    """

    discriminator_kind: ClassVar[str] = "encoder"
    trains_discriminator: ClassVar[bool] = False

    def __init__(
        self,
        likelihood: str = "auto",
        recon_reduction: str = "channel_mean",
        decoder_activation: str = "relu",
    ) -> None:
        if likelihood not in ("auto", *LIKELIHOODS):
            raise ValueError(
                f"VAE likelihood={likelihood!r} is not known; valid: {('auto', *LIKELIHOODS)}"
            )
        if recon_reduction not in RECON_REDUCTIONS:
            raise ValueError(f"VAE recon_reduction={recon_reduction!r} is not known; "
                             f"valid: {RECON_REDUCTIONS}")
        if decoder_activation not in DECODER_ACTIVATIONS:
            raise ValueError(f"VAE decoder_activation={decoder_activation!r} is not known; "
                             f"valid: {DECODER_ACTIVATIONS}")
        self.likelihood = likelihood
        self.recon_reduction = recon_reduction
        self.decoder_activation = decoder_activation

    def build_generator(self, arch: Architecture, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """The decoder p(x|z): the infogan generator with `decoder_activation`; any other
        architecture's own generator."""
        if isinstance(arch, InfoGAN):
            return arch.generator(z_dim, shape, activation=self.decoder_activation)
        return arch.generator(z_dim, shape)

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
        """Decoder and encoder: both train on the ELBO. Warns when G has leaky ReLUs although
        decoder_activation="relu": G was built without `build_generator`, so the decoder is not
        the one the config asks for."""
        if self.decoder_activation == "relu" and any(isinstance(m, nn.LeakyReLU)
                                                     for m in G.modules()):
            warnings.warn("VAE decoder_activation=relu, but the decoder has leaky ReLUs: it was "
                          "built with arch.generator, not VAE.build_generator", stacklevel=2)
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
        if self.recon_reduction == "channel_mean" and real.dim() == 4:
            # Both nll functions sum over (C, H, W); the study's mean over channels is that / C.
            nll = nll / real.shape[1]
        kl = losses.gaussian_kl(mean, std)
        loss = nll + kl
        return loss, detached(g_loss=loss, nll=nll, kl=kl)
