"""Network architectures. An architecture is a small factory object (built by Hydra from
conf/arch/*.yaml) whose methods build the generator and each kind of discriminator for a data
shape; an objective picks the discriminator kind it needs by name (see `Architecture`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from torch import nn

from benchmark.nets.infogan import InfoGAN
from benchmark.nets.mlp import MLP


@runtime_checkable
class Architecture(Protocol):
    """What the training loop and the objectives need from an architecture.

    `shape` is one sample's shape: (C, H, W) images or (D,) points.
    """

    def generator(self, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """(B, z_dim) -> (B, *shape)."""
        ...

    def critic(self, shape: Sequence[int], batchnorm: bool) -> nn.Module:
        """(B, *shape) -> (B,) logits / critic values."""
        ...

    def autoencoder(self, shape: Sequence[int], batchnorm: bool) -> nn.Module:
        """(B, *shape) -> (B, *shape) reconstruction (BEGAN's discriminator)."""
        ...

    def encoder(self, shape: Sequence[int], z_dim: int, batchnorm: bool) -> nn.Module:
        """(B, *shape) -> (B, 2*z_dim) Gaussian parameters (the VAE's encoder)."""
        ...


__all__ = ["MLP", "Architecture", "InfoGAN"]
