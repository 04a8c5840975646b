"""Objectives whose critic is a vector embedding h: x -> R^d (MMD GAN, Cramér GAN, McGAN)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import nn

from benchmark.nets import Architecture
from benchmark.objectives.base import Objective


class EmbeddingObjective(Objective):
    """Builds D with the architecture's encoder (the critic's layers with a d-wide last layer),
    asking it for `embed_dim` outputs: the encoder's output is 2 * its z_dim argument, so it is
    built with z_dim = embed_dim / 2 (embed_dim must be even). Everything else goes through
    `Objective.build_discriminator` unchanged, whatever its further arguments are."""

    discriminator_kind: ClassVar[str] = "encoder"

    def __init__(self, embed_dim: int) -> None:
        if embed_dim < 2 or embed_dim % 2:
            raise ValueError(f"{type(self).__name__} embed_dim must be an even number >= 2; "
                             f"got {embed_dim}")
        self.embed_dim = embed_dim

    def build_discriminator(self, arch: Architecture, shape: Sequence[int], z_dim: int,
                            *args: Any, **kwargs: Any) -> nn.Module:
        return super().build_discriminator(arch, shape, self.embed_dim // 2, *args, **kwargs)
