"""Layer groups shared by the study's convolutional networks (compare_gan v1 `abstract_gan.py`,
`BEGAN.py`, `VAE.py`): the two-conv down trunk and the FC -> two-deconv up head.

Every conv/deconv is 4x4 stride 2 with padding 1, which equals TensorFlow's "SAME" padding for
even sizes: each conv halves H and W exactly, each deconv doubles them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from benchmark.nets.norms import norm_layer

LRELU_SLOPE = 0.2  # compare_gan ops.lrelu
# compare_gan ops.batch_norm: tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001).
# TF's decay d is PyTorch's momentum 1 - d.
STUDY_BN_MOMENTUM = 1e-3
STUDY_BN_EPS = 1e-3
INIT_STD = 0.02  # compare_gan ops: every conv, deconv and linear weight; biases start at zero


def check_width_momentum(width: float, bn_momentum: float) -> None:
    """The conv architectures' shared arguments: a ValueError naming the key when out of range."""
    if width <= 0:
        raise ValueError(f"arch.width must be > 0; got {width}")
    if not 0 < bn_momentum <= 1:
        raise ValueError(f"arch.bn_momentum must be in (0, 1]; got {bn_momentum}")


def scaled(channels: int, width: float) -> int:
    """`channels * width` rounded, at least 1 (narrow nets for CPU demos)."""
    return max(1, round(channels * width))


def normalisation(norm: str, features: int, dims: int, bn_momentum: float) -> list[nn.Module]:
    """[] or [the `norm` layer] (none | batch | layer) for `features` outputs of a Linear
    (dims=1) or conv (dims=2); batch norm with the study's epsilon."""
    layer = norm_layer(norm, features, dims, bn_eps=STUDY_BN_EPS, bn_momentum=bn_momentum)
    return [] if layer is None else [layer]


def fc(
    in_features: int,
    out_features: int,
    *,
    norm: str,
    activation: nn.Module | None,
    bn_momentum: float = STUDY_BN_MOMENTUM,
) -> list[nn.Module]:
    """Linear [-> norm] [-> activation], as a list to splice into a Sequential."""
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    layers += normalisation(norm, out_features, 1, bn_momentum)
    if activation is not None:
        layers.append(activation)
    return layers


def conv_down(
    in_channels: int,
    c1: int,
    c2: int,
    *,
    norm: str,
    activate: bool,
    bn_momentum: float = STUDY_BN_MOMENTUM,
) -> list[nn.Module]:
    """conv4x4 s2 (c1) -> lrelu -> conv4x4 s2 (c2) [-> norm] [-> lrelu] -> flatten.

    (B, C, H, W) -> (B, c2 * H/4 * W/4). The critic and the VAE encoder activate after the
    second conv; BEGAN's encoder goes straight from it to the code layer (activate=False).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, c1, 4, stride=2, padding=1),
        nn.LeakyReLU(LRELU_SLOPE),
        nn.Conv2d(c1, c2, 4, stride=2, padding=1),
        *normalisation(norm, c2, 2, bn_momentum),
    ]
    if activate:
        layers.append(nn.LeakyReLU(LRELU_SLOPE))
    layers.append(nn.Flatten())
    return layers


def deconv_up(
    in_features: int,
    c2: int,
    c1: int,
    out_shape: tuple[int, int, int],
    *,
    norm: str,
    activation: Callable[[], nn.Module],
    bn_momentum: float = STUDY_BN_MOMENTUM,
) -> list[nn.Module]:
    """FC c2*(H/4)*(W/4) [norm] act -> reshape -> deconv4x4 s2 (c1) [norm] act -> deconv4x4 s2
    (C) -> sigmoid.

    (B, in_features) -> (B, C, H, W) in [0, 1]. The generator's second half and BEGAN's decoder.
    `activation` is a factory (a class or `lrelu`) so each use gets its own instance.
    """
    channels, height, width = out_shape
    h4, w4 = height // 4, width // 4
    layers = fc(in_features, c2 * h4 * w4, norm=norm, activation=activation(),
                bn_momentum=bn_momentum)
    layers.append(nn.Unflatten(1, (c2, h4, w4)))
    layers.append(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1))
    layers += normalisation(norm, c1, 2, bn_momentum)
    layers += [activation(), nn.ConvTranspose2d(c1, channels, 4, stride=2, padding=1),
               nn.Sigmoid()]
    return layers


def lrelu() -> nn.Module:
    """LeakyReLU with the study's slope 0.2 (a factory, usable as `deconv_up(activation=...)`)."""
    return nn.LeakyReLU(LRELU_SLOPE)


@torch.no_grad()
def init_study_weights(module: nn.Module) -> None:
    """compare_gan's initialisation (ops.py): conv weights ~ truncated N(0, 0.02) (TF truncates
    at 2 std), linear and deconv weights ~ N(0, 0.02), biases 0. BN keeps gamma=1, beta=0.

    PyTorch's default (Kaiming-uniform) init gives these nets much larger initial weights, which
    changes early training dynamics, so we use the study's init. Apply with `net.apply(...)`.
    """
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, std=INIT_STD, a=-2 * INIT_STD, b=2 * INIT_STD)
    elif isinstance(module, nn.Linear | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, std=INIT_STD)
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)
