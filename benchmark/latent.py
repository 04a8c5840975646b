"""Latent distributions p(z). The study draws z ~ U(-1, 1); the VAE's prior is N(0, I)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def _uniform(n: int, dim: int, device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, dim, device=device, generator=gen) * 2 - 1


def _normal(n: int, dim: int, device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    return torch.randn(n, dim, device=device, generator=gen)


LATENTS: dict[str, Callable[..., torch.Tensor]] = {"uniform": _uniform, "normal": _normal}


def latent_sampler(
    kind: str, dim: int, device: torch.device
) -> Callable[..., torch.Tensor]:
    """`sample(n, generator=None) -> (n, dim)` for the named distribution."""
    if kind not in LATENTS:
        raise ValueError(f"gan.latent={kind!r} is not a latent distribution; valid: {sorted(LATENTS)}")
    fn = LATENTS[kind]

    def sample(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return fn(n, dim, device, generator)

    return sample
