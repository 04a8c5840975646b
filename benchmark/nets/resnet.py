"""The follow-up study's ResNet networks (Kurach et al. 2019): Miyato et al. 2018's CIFAR ResNet
(their Table 4, after Gulrajani et al. 2017) up to 32x32, and a resnet5-style net up to 64x64.

    up to 32x32 (cifar):
      G: FC 256*(H/8)*(W/8) -> [up-block 256] x3 -> BN relu -> conv3x3 (C) -> sigmoid
      D: optimised block 128 (down) -> block 128 (down) -> block 128 -> block 128
         -> relu -> global sum pool -> FC 1
    33 to 64 (resnet5-style; compare_gan's resnet5 / Kurach et al.'s ResNet19 channels):
      G: FC 512*(H/16)*(W/16) -> up-blocks 512, 256, 256, 128 -> block 64 -> BN relu -> conv3x3
      D: optimised block 64 (down) -> blocks 128, 256, 256 (down) -> blocks 512, 512
         -> relu -> global sum pool -> FC 1

    G block:    x -> norm relu up conv3x3 norm relu conv3x3 -> + (up -> conv1x1)(x)
    D block:    x -> [norm] relu conv3x3 [norm] relu conv3x3 [pool] -> + (conv1x1 [pool])(x)
    optimised:  x -> conv3x3 [norm] relu conv3x3 pool -> + (pool -> conv1x1)(x)   (first D block)
    The 1x1 shortcut conv is there only when the block changes channels or resolution; else the
    shortcut is the identity. Upsampling is nearest-neighbour, pooling 2x2 average.

Departures from compare_gan v3 (resnet_cifar.py / resnet5.py), on purpose, to follow the papers
the brief names: compare_gan's first D block is a plain one (relu on the raw image), every
shortcut is a 3x3 conv, up-sampling inserts zeros, D pools by mean not sum, and its resnet5 D
halves all the way to 1x1 at 64x64 (it is built for 128x128; ours stops at G's 4x4 seed).

Other sizes: every halving rounds up and every up-sampling goes to the exact size its mirror
halving started from, so 28x28 works (G: 4 -> 7 -> 14 -> 28) and 16x16 too (seed 2x2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from benchmark.nets.blocks import normalisation
from benchmark.nets.dcgan import ConvArchitecture, halvings, image_shape

MAX_SIZE = 64


@dataclass(frozen=True)
class Layout:
    """One size class: reference channel counts (before `width`) and how many halvings."""

    g_seed: int                       # channels of the FC seed map
    g_blocks: tuple[tuple[int, bool], ...]   # (out channels, upsample?) per G block
    d_blocks: tuple[tuple[int, bool], ...]   # (out channels, downsample?); the first optimised

    @property
    def halvings(self) -> int:
        """Times G doubles (= times D halves, for the 64 layout); the seed is size / 2**this."""
        return sum(up for _, up in self.g_blocks)


CIFAR = Layout(
    g_seed=256,
    g_blocks=((256, True),) * 3,
    d_blocks=((128, True), (128, True), (128, False), (128, False)),
)
RESNET64 = Layout(
    g_seed=512,
    g_blocks=((512, True), (256, True), (256, True), (128, True), (64, False)),
    d_blocks=((64, True), (128, True), (256, True), (256, True), (512, False), (512, False)),
)


class GBlock(nn.Module):
    """Pre-activation residual block that may upsample to `size` (exact, for odd sizes)."""

    def __init__(self, in_ch: int, out_ch: int, size: tuple[int, int] | None, norm: str,
                 momentum: float) -> None:
        super().__init__()
        up: list[nn.Module] = [nn.Upsample(size=size, mode="nearest")] if size else []
        self.residual = nn.Sequential(
            *normalisation(norm, in_ch, 2, momentum), nn.ReLU(), *up,
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            *normalisation(norm, out_ch, 2, momentum), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
        )
        learnable = in_ch != out_ch or size is not None
        up = [nn.Upsample(size=size, mode="nearest")] if size else []  # own instance per branch
        self.shortcut = (nn.Sequential(*up, nn.Conv2d(in_ch, out_ch, 1)) if learnable
                         else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class DBlock(nn.Module):
    """Residual block that may halve the resolution; `optimised` is Miyato et al.'s first block
    (no activation on the raw image, and pooling before the shortcut conv: cheaper, same map).
    """

    def __init__(self, in_ch: int, out_ch: int, down: bool, norm: str, momentum: float,
                 optimised: bool = False) -> None:
        super().__init__()
        # ceil_mode: an odd size rounds up, as TF's SAME pooling does.
        pool: list[nn.Module] = [nn.AvgPool2d(2, ceil_mode=True)] if down else []
        if optimised:
            self.residual = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 3, padding=1),
                *normalisation(norm, out_ch, 2, momentum), nn.ReLU(),
                nn.Conv2d(out_ch, out_ch, 3, padding=1), *pool,
            )
            pool = [nn.AvgPool2d(2, ceil_mode=True)] if down else []  # own instance per branch
            self.shortcut: nn.Module = nn.Sequential(*pool, nn.Conv2d(in_ch, out_ch, 1))
            return
        self.residual = nn.Sequential(
            *normalisation(norm, in_ch, 2, momentum), nn.ReLU(),
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            *normalisation(norm, out_ch, 2, momentum), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1), *pool,
        )
        pool = [nn.AvgPool2d(2, ceil_mode=True)] if down else []  # own instance per branch
        self.shortcut = (nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), *pool)
                         if in_ch != out_ch or down else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class SumPool(nn.Module):
    """(B, C, H, W) -> (B, C): global sum pooling (Miyato et al.; compare_gan takes the mean)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sum(dim=(2, 3))


class ResNet(ConvArchitecture):
    """Residual G and D for images up to 64x64: the CIFAR layout up to 32 pixels on the longer
    side, the resnet5-style one from 33 to 64 (see the module docstring)."""

    name = "resnet"

    def layout(self, shape: Sequence[int]) -> Layout:
        """The size class for an image shape."""
        _, h, w = self._shape(shape)
        return CIFAR if max(h, w) <= 32 else RESNET64

    def _shape(self, shape: Sequence[int]) -> tuple[int, int, int]:
        c, h, w = image_shape(shape, self.name)
        if max(h, w) > MAX_SIZE:
            raise ValueError(f"arch=resnet supports images up to {MAX_SIZE}x{MAX_SIZE} (the CIFAR "
                             f"ResNet up to 32, a resnet5-style net up to 64); got shape "
                             f"{(c, h, w)}")
        return c, h, w

    def _trunk(self, shape: tuple[int, int, int], norm: str) -> tuple[list[nn.Module], int]:
        c, _, _ = shape
        layout = self.layout(shape)
        m = self.bn_momentum
        layers: list[nn.Module] = []
        in_ch = c
        for i, (out, down) in enumerate(layout.d_blocks):
            out = self.ch(out)
            layers.append(DBlock(in_ch, out, down, norm, m, optimised=i == 0))
            in_ch = out
        layers += [nn.ReLU(), SumPool()]
        return layers, in_ch

    def _body(self, in_features: int, shape: tuple[int, int, int], norm: str) -> list[nn.Module]:
        c, h, w = shape
        layout = self.layout(shape)
        n = layout.halvings
        hs, ws = halvings(h, n), halvings(w, n)  # hs[n] is the seed, hs[0] the image
        seed = self.ch(layout.g_seed)
        m = self.bn_momentum
        layers: list[nn.Module] = [nn.Linear(in_features, seed * hs[n] * ws[n]),
                                   nn.Unflatten(1, (seed, hs[n], ws[n]))]
        in_ch, level = seed, n
        for out, up in layout.g_blocks:
            out = self.ch(out)
            size = None
            if up:
                level -= 1
                size = (hs[level], ws[level])
            layers.append(GBlock(in_ch, out, size, norm, m))
            in_ch = out
        layers += [*normalisation(norm, in_ch, 2, m), nn.ReLU(),
                   nn.Conv2d(in_ch, c, 3, padding=1), nn.Sigmoid()]
        return layers
