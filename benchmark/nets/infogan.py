"""The study's convolutional networks ("InfoGAN" architecture, Lucic et al. 2018, Table 4), as in
compare_gan v1: `abstract_gan.py` (generator, discriminator), `BEGAN.py` (auto-encoder
discriminator) and `VAE.py` (Gaussian encoder).

    D:   conv4x4 s2 (64) -> lrelu -> conv4x4 s2 (128) [N] -> lrelu -> FC 1024 [N] -> lrelu -> FC 1
    G:   FC 1024 BN lrelu -> FC 128*(H/4)*(W/4) BN lrelu -> deconv4x4 s2 (64) BN lrelu
         -> deconv4x4 s2 (C) -> sigmoid
    AE:  conv (64) -> lrelu -> conv (128) -> FC 64 [N] lrelu -> FC 128*(H/4)*(W/4) [N] lrelu
         -> deconv (64) [N] lrelu -> deconv (C) -> sigmoid                           (BEGAN's D)
    Enc: D's layers with a final FC 2*z_dim (mean, pre-softplus std)                  (VAE)

[N] is the discriminator's `norm` (benchmark.nets.norms): none, batch (the study's BN switch) or
layer (LayerNorm after an FC, GroupNorm(1, C) over (C, H, W) after a conv, where BN would be).

The VAE's decoder is the generator's layers with ReLU in place of leaky ReLU (compare_gan v1
`VAE.decoder`: tf.nn.relu after each batch norm); `generator(..., activation="relu")` builds it.
Weights use the study's N(0, 0.02) init and its batch-norm settings (epsilon 1e-3, moving-average
decay 0.999).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from benchmark.nets.blocks import (
    STUDY_BN_MOMENTUM,
    check_width_momentum,
    conv_down,
    deconv_up,
    fc,
    init_study_weights,
    lrelu,
    scaled,
)
from benchmark.nets.norms import check_arch_norm

# The generator's hidden activation: lrelu (0.2) is compare_gan v1's `abstract_gan.generator`
# (every GAN), relu its `VAE.decoder` (same layers otherwise; VAE.py@49495fd).
GENERATOR_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"lrelu": lrelu, "relu": nn.ReLU}


def image_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """`shape` as (C, H, W), or ValueError if it is not an image with H, W divisible by 4."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1 or shape[1] % 4 or shape[2] % 4:
        hint = " — use arch=mlp for points" if len(shape) == 1 else ""
        raise ValueError(
            "arch=infogan needs images (C,H,W) with H and W divisible by 4; "
            f"got shape {shape}{hint}"
        )
    return shape  # type: ignore[return-value]


def _studied(net: nn.Sequential) -> nn.Sequential:
    net.apply(init_study_weights)
    return net


class InfoGAN:
    """Factory for the study's networks at any (C, H, W) with H, W divisible by 4.

    `width` multiplies every layer width (64, 128, 1024 and BEGAN's 64-d code; rounded, at least
    1) so CPU demos can shrink the nets; 1.0 is the study. `bn_momentum` is PyTorch's momentum of
    the batch-norm running statistics (used in eval mode); the study's TF decay 0.999 is 1e-3.
    """

    def __init__(self, width: float = 1.0, bn_momentum: float = STUDY_BN_MOMENTUM) -> None:
        check_width_momentum(width, bn_momentum)
        self.width = width
        self.bn_momentum = bn_momentum
        self.c64 = scaled(64, width)
        self.c128 = scaled(128, width)
        self.c1024 = scaled(1024, width)

    def generator(self, z_dim: int, shape: Sequence[int], activation: str = "lrelu") -> nn.Module:
        """(B, z_dim) -> (B, C, H, W) in [0, 1].

        `activation` after each of the three batch norms: "lrelu" (0.2), compare_gan's
        `abstract_gan.generator` for every GAN (the paper's table says ReLU; the code that
        produced its numbers uses lrelu); "relu", compare_gan's `VAE.decoder` (same layers).
        """
        if activation not in GENERATOR_ACTIVATIONS:
            raise ValueError(f"generator activation={activation!r} is not known; "
                             f"valid: {tuple(GENERATOR_ACTIVATIONS)}")
        act = GENERATOR_ACTIVATIONS[activation]
        out_shape = image_shape(shape)
        m = self.bn_momentum
        return _studied(nn.Sequential(
            *fc(z_dim, self.c1024, norm="batch", activation=act(), bn_momentum=m),
            *deconv_up(self.c1024, self.c128, self.c64, out_shape, norm="batch",
                       activation=act, bn_momentum=m),
        ))

    def critic(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, C, H, W) -> (B,) logits (no sigmoid)."""
        # Flatten(0) turns the (B, 1) output into (B,).
        return _studied(nn.Sequential(*self._conv_classifier(shape, 1, norm), nn.Flatten(0)))

    def encoder(self, shape: Sequence[int], z_dim: int, norm: str) -> nn.Module:
        """(B, C, H, W) -> (B, 2*z_dim): the Gaussian's mean, then its pre-softplus std."""
        return _studied(nn.Sequential(*self._conv_classifier(shape, 2 * z_dim, norm)))

    def autoencoder(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, C, H, W) -> (B, C, H, W) reconstruction in [0, 1] (BEGAN's discriminator).

        As in compare_gan's BEGAN.py, there is no normalisation or activation between the
        second conv and the code layer, whatever `norm` says.
        """
        c, h, w = image_shape(shape)
        check_arch_norm(norm, "infogan")
        m = self.bn_momentum
        code = scaled(64, self.width)
        return _studied(nn.Sequential(
            *conv_down(c, self.c64, self.c128, norm="none", activate=False),
            *fc(self.c128 * (h // 4) * (w // 4), code, norm=norm, activation=lrelu(),
                bn_momentum=m),
            *deconv_up(code, self.c128, self.c64, (c, h, w), norm=norm,
                       activation=lrelu, bn_momentum=m),
        ))

    def _conv_classifier(
        self, shape: Sequence[int], out_features: int, norm: str
    ) -> list[nn.Module]:
        # The discriminator and the VAE encoder differ only in their last layer's width.
        c, h, w = image_shape(shape)
        check_arch_norm(norm, "infogan")
        m = self.bn_momentum
        return [
            *conv_down(c, self.c64, self.c128, norm=norm, activate=True, bn_momentum=m),
            *fc(self.c128 * (h // 4) * (w // 4), self.c1024, norm=norm,
                activation=lrelu(), bn_momentum=m),
            nn.Linear(self.c1024, out_features),
        ]
