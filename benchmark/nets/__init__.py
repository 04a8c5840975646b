"""Network architectures. An architecture is a small factory object (built by Hydra from
conf/arch/*.yaml) whose methods build the generator and each kind of discriminator for a data
shape; an objective picks the discriminator kind it needs by name (see `Architecture`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from torch import nn

from benchmark.nets.dcgan import DCGAN, SNDCGAN
from benchmark.nets.infogan import InfoGAN
from benchmark.nets.mlp import MLP
from benchmark.nets.norms import ARCH_NORMS, NORMS, apply_spectral_norm
from benchmark.nets.resnet import ResNet


@runtime_checkable
class Architecture(Protocol):
    """What the training loop and the objectives need from an architecture.

    `shape` is one sample's shape: (C, H, W) images or (D,) points. `norm` is the
    discriminator's normalisation, one of `ARCH_NORMS` ("none", "batch", "layer"); an unknown
    one is a ValueError. Spectral norm is not the architecture's: the objective wraps the built
    D with `apply_spectral_norm`. The generator always has the architecture's own (batch) norm.
    """

    def generator(self, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """(B, z_dim) -> (B, *shape)."""
        ...

    def critic(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, *shape) -> (B,) logits / critic values."""
        ...

    def autoencoder(self, shape: Sequence[int], norm: str) -> nn.Module:
        """(B, *shape) -> (B, *shape) reconstruction (BEGAN's discriminator)."""
        ...

    def encoder(self, shape: Sequence[int], z_dim: int, norm: str) -> nn.Module:
        """(B, *shape) -> (B, 2*z_dim) Gaussian parameters (the VAE's encoder)."""
        ...


__all__ = [
    "ARCH_NORMS", "DCGAN", "MLP", "NORMS", "SNDCGAN", "Architecture", "InfoGAN", "ResNet",
    "apply_spectral_norm",
]
