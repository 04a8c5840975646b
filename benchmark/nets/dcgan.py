"""The follow-up study's DCGAN and SNDCGAN networks (Kurach et al. 2019), as in compare_gan v3's
`architectures/dcgan.py` and `architectures/sndcgan.py`, plus what they share with `resnet.py`:
the factory base class `ConvArchitecture`.

    dcgan    D:  conv5x5 s2 (64) lrelu -> [conv5x5 s2 (128, 256, 512) [norm] lrelu] x3 -> FC 1
             G:  FC 512*(H/16)*(W/16) -> BN relu -> [deconv5x5 s2 (256, 128, 64) BN relu] x3
                 -> deconv5x5 s2 (C) -> (tanh+1)/2                    (Radford et al. 2016)
    sndcgan  D:  [-1, 1] -> conv3x3 (64) lrelu -> conv4x4 s2 (128) -> conv3x3 (128)
                 -> conv4x4 s2 (256) -> conv3x3 (256) -> conv4x4 s2 (512) -> conv3x3 (512)
                 -> FC 1; each conv but the first [norm], every conv lrelu 0.1
             G:  FC 512*(H/8)*(W/8) BN relu -> [deconv4x4 s2 (256, 128, 64) BN relu] x3
                 -> deconv3x3 s1 (C) -> (tanh+1)/2                    (Miyato et al. 2018)

Where they depart from a reference, on purpose:
  * sndcgan's D channels are compare_gan's (64,128,128,256,256,512,512: the code behind Kurach
    et al.'s numbers), not Miyato et al.'s Table 3 (64,64,128,128,256,256,512).
  * compare_gan's sndcgan D has no normalisation hook, so BN/LN requests are silently ignored
    there; here `norm` goes where DCGAN puts it: after every conv but the first.
  * The outputs keep compare_gan's (tanh(x)+1)/2 (= sigmoid(2x)): in [0, 1] like the data.

The encoder (VAE) and auto-encoder (BEGAN's D) reuse D's conv trunk and G's layers, which the
study never did with these nets (its VAE/BEGAN runs used the InfoGAN nets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from benchmark.nets.blocks import (
    STUDY_BN_MOMENTUM,
    check_width_momentum,
    init_study_weights,
    normalisation,
    scaled,
)
from benchmark.nets.norms import check_arch_norm


def image_shape(shape: Sequence[int], arch: str) -> tuple[int, int, int]:
    """`shape` as (C, H, W), or ValueError (naming arch=mlp for points)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        hint = " — use arch=mlp for points" if len(shape) == 1 else ""
        raise ValueError(f"arch={arch} needs images (C,H,W); got shape {shape}{hint}")
    return shape  # type: ignore[return-value]


def halvings(size: int, times: int) -> list[int]:
    """[size, ceil(size/2), ...] (times+1 entries): TF "SAME" stride-2 output sizes."""
    sizes = [size]
    for _ in range(times):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


class TanhToUnit(nn.Module):
    """(tanh(x) + 1) / 2: compare_gan's DCGAN/SNDCGAN output, tanh rescaled to [0, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        return (torch.tanh(x) + 1) / 2


class ToSigned(nn.Module):
    """x * 2 - 1: SNDCGAN's D sees [-1, 1] images as Miyato et al.'s did (compare_gan's trick)."""

    def forward(self, x: Tensor) -> Tensor:
        return x * 2 - 1


class ConvArchitecture:
    """The four factory methods from two pieces each subclass supplies: D's trunk (image ->
    feature vector) and G's body (vector -> image in [0, 1]).

        critic      = trunk -> FC 1                       (B,) logits
        encoder     = trunk -> FC 2*z_dim                 mean, then pre-softplus std (VAE)
        autoencoder = trunk -> FC code -> body(norm)      reconstruction (BEGAN's D); the code
                      is linear, as in BEGAN, and its width 64*width as in InfoGAN's
        generator   = body(batch norm)                    G always uses batch norm (the study)

    `width` multiplies every channel count (rounded, at least 1) for CPU runs; `bn_momentum` is
    PyTorch's batch-norm running-statistics momentum (the study's TF decay 0.999 is 1e-3).
    Weights use the study's init (`init_study_weights`).
    """

    name = "conv"

    def __init__(self, width: float = 1.0, bn_momentum: float = STUDY_BN_MOMENTUM) -> None:
        check_width_momentum(width, bn_momentum)
        self.width = width
        self.bn_momentum = bn_momentum

    def ch(self, channels: int) -> int:
        """A reference channel count scaled by `width`."""
        return scaled(channels, self.width)

    def generator(self, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """(B, z_dim) -> (B, C, H, W) in [0, 1]."""
        return _studied(nn.Sequential(*self._body(z_dim, self._shape(shape), "batch")))

    def critic(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, C, H, W) -> (B,) logits (no sigmoid)."""
        trunk, features = self._trunk(self._shape(shape), check_arch_norm(norm, self.name))
        return _studied(nn.Sequential(*trunk, nn.Linear(features, 1), nn.Flatten(0)))

    def encoder(self, shape: Sequence[int], z_dim: int, norm: str) -> nn.Module:
        """(B, C, H, W) -> (B, 2*z_dim): the Gaussian's mean, then its pre-softplus std."""
        trunk, features = self._trunk(self._shape(shape), check_arch_norm(norm, self.name))
        return _studied(nn.Sequential(*trunk, nn.Linear(features, 2 * z_dim)))

    def autoencoder(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, C, H, W) -> (B, C, H, W) reconstruction in [0, 1] (BEGAN's discriminator)."""
        chw = self._shape(shape)
        trunk, features = self._trunk(chw, check_arch_norm(norm, self.name))
        code = self.ch(64)
        return _studied(nn.Sequential(*trunk, nn.Linear(features, code),
                                      *self._body(code, chw, norm)))

    def _shape(self, shape: Sequence[int]) -> tuple[int, int, int]:
        """Validated (C, H, W); subclasses add their size rules."""
        return image_shape(shape, self.name)

    def _trunk(self, shape: tuple[int, int, int], norm: str) -> tuple[list[nn.Module], int]:
        """D's layers from the image to a flat feature vector, and that vector's length."""
        raise NotImplementedError

    def _body(self, in_features: int, shape: tuple[int, int, int], norm: str) -> list[nn.Module]:
        """G's layers from a (B, in_features) vector to a (B, *shape) image in [0, 1]."""
        raise NotImplementedError


class DCGAN(ConvArchitecture):
    """compare_gan's DCGAN at any image size: every stride-2 layer rounds up as TF's "SAME"
    padding does (28 -> 14 -> 7 -> 4 -> 2), and each deconv picks its output padding to land on
    the size its mirror conv started from. 64x64 gives G a 4x4 seed, 32x32 a 2x2 one.
    """

    name = "dcgan"

    def _trunk(self, shape: tuple[int, int, int], norm: str) -> tuple[list[nn.Module], int]:
        c, h, w = shape
        widths = [c, self.ch(64), self.ch(128), self.ch(256), self.ch(512)]
        layers: list[nn.Module] = []
        for i in range(4):
            # 5x5 stride 2, padding 2: out = ceil(in / 2), TF's SAME.
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 5, stride=2, padding=2))
            if i > 0:  # DCGAN: no normalisation on the first layer
                layers += normalisation(norm, widths[i + 1], 2, self.bn_momentum)
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Flatten())
        return layers, widths[-1] * halvings(h, 4)[-1] * halvings(w, 4)[-1]

    def _body(self, in_features: int, shape: tuple[int, int, int], norm: str) -> list[nn.Module]:
        c, h, w = shape
        hs, ws = halvings(h, 4), halvings(w, 4)
        widths = [self.ch(512), self.ch(256), self.ch(128), self.ch(64), c]
        m = self.bn_momentum
        layers: list[nn.Module] = [
            nn.Linear(in_features, widths[0] * hs[4] * ws[4]),
            nn.Unflatten(1, (widths[0], hs[4], ws[4])),
            # compare_gan normalises after the reshape: per channel, not per feature.
            *normalisation(norm, widths[0], 2, m),
            nn.ReLU(),
        ]
        for i in range(4):
            th, tw = hs[3 - i], ws[3 - i]  # the size this deconv must produce
            # 5x5 stride 2, padding 2 gives 2*in - 1 + output_padding: pad 1 for an even target.
            layers.append(nn.ConvTranspose2d(widths[i], widths[i + 1], 5, stride=2, padding=2,
                                             output_padding=(1 - th % 2, 1 - tw % 2)))
            if i < 3:
                layers += [*normalisation(norm, widths[i + 1], 2, m), nn.ReLU()]
        layers.append(TanhToUnit())
        return layers


class SNDCGAN(ConvArchitecture):
    """The "standard CNN" of Miyato et al. 2018 as in compare_gan's sndcgan.py, for (C, H, W)
    with H and W divisible by 8 (three stride-2 4x4 layers each way: 16, 24, 32, 64, ...).
    Meant for spectral norm in D (the caller applies it), but any `norm` works.
    """

    name = "sndcgan"
    LRELU_SLOPE = 0.1  # Miyato et al.'s

    def _shape(self, shape: Sequence[int]) -> tuple[int, int, int]:
        c, h, w = image_shape(shape, self.name)
        if h % 8 or w % 8:
            # 4x4 stride-2 (de)convs only halve/double exactly, so sizes must survive 3 halvings.
            raise ValueError(f"arch=sndcgan needs H and W divisible by 8 (e.g. 16, 32, 64); got "
                             f"shape {(c, h, w)} — arch=dcgan or arch=resnet accept 28x28")
        return c, h, w

    def _trunk(self, shape: tuple[int, int, int], norm: str) -> tuple[list[nn.Module], int]:
        c, h, w = shape
        # (out channels, kernel, stride): 3x3 s1 / 4x4 s2 pairs; padding 1 is TF's SAME for both.
        convs = [(64, 3, 1), (128, 4, 2), (128, 3, 1), (256, 4, 2), (256, 3, 1), (512, 4, 2),
                 (512, 3, 1)]
        layers: list[nn.Module] = [ToSigned()]
        in_ch = c
        for i, (out, k, s) in enumerate(convs):
            out = self.ch(out)
            layers.append(nn.Conv2d(in_ch, out, k, stride=s, padding=1))
            if i > 0:
                layers += normalisation(norm, out, 2, self.bn_momentum)
            layers.append(nn.LeakyReLU(self.LRELU_SLOPE))
            in_ch = out
        layers.append(nn.Flatten())
        return layers, in_ch * (h // 8) * (w // 8)

    def _body(self, in_features: int, shape: tuple[int, int, int], norm: str) -> list[nn.Module]:
        c, h, w = shape
        widths = [self.ch(512), self.ch(256), self.ch(128), self.ch(64)]
        seed = widths[0] * (h // 8) * (w // 8)
        m = self.bn_momentum
        layers: list[nn.Module] = [
            # compare_gan normalises the FC output before the reshape: per feature.
            nn.Linear(in_features, seed), *normalisation(norm, seed, 1, m), nn.ReLU(),
            nn.Unflatten(1, (widths[0], h // 8, w // 8)),
        ]
        for i in range(3):
            layers += [nn.ConvTranspose2d(widths[i], widths[i + 1], 4, stride=2, padding=1),
                       *normalisation(norm, widths[i + 1], 2, m), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[3], c, 3, stride=1, padding=1), TanhToUnit()]
        return layers


def _studied(net: nn.Sequential) -> nn.Sequential:
    net.apply(init_study_weights)
    return net
