"""The interface between the training loop and a GAN objective."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from benchmark.nets import NORMS, Architecture, apply_spectral_norm

# Scalar logs returned with each loss: name -> detached 0-d tensor on the loss's device.
# Tensors, not python floats: `.item()` would force a device sync every step; the loop averages
# them over a log interval and converts once (float(t) works on both).
Logs = dict[str, Tensor]

DISCRIMINATOR_KINDS = ("critic", "autoencoder", "encoder")


class Objective:
    """A GAN objective: which discriminator it needs, its two losses, and hooks the loop calls.
    The training loop knows no objective by name; it calls only these.

    Per iteration the loop runs `n_disc` discriminator steps (each with a fresh real batch and z:
    `d_loss` -> zero_grad/backward/step -> `after_d_step`), then one generator step (`g_loss` ->
    zero_grad/backward/step -> `after_g_step`). Objectives with `trains_discriminator = False`
    (the VAE) get only the generator step.
    """

    # Name of the architecture factory method that builds D: critic | autoencoder | encoder.
    discriminator_kind: ClassVar[str] = "critic"
    # False: no separate D step; D's parameters (if any) train with G via generator_parameters.
    trains_discriminator: ClassVar[bool] = True
    # The config groups the objective is built from (GAN: "loss", "penalty"); a run that picks
    # another group (e.g. `gan=began loss=hinge`) is a config error (benchmark.composition).
    composes: ClassVar[tuple[str, ...]] = ()

    def build_generator(self, arch: Architecture, z_dim: int, shape: Sequence[int]) -> nn.Module:
        """Build G: the architecture's generator (the VAE swaps in its decoder's activation)."""
        return arch.generator(z_dim, shape)

    def build_discriminator(
        self, arch: Architecture, shape: Sequence[int], z_dim: int, norm: str
    ) -> nn.Module:
        """Build D with the architecture's `discriminator_kind` method and D's normalisation
        `norm` (one of benchmark.nets.NORMS): none | batch | layer are built in by the
        architecture; spectral wraps every Conv/Linear weight of the built D."""
        if norm not in NORMS:
            raise ValueError(f"norm={norm!r} is not known; valid: {NORMS}")
        shape = tuple(int(s) for s in shape)
        arch_norm = "none" if norm == "spectral" else norm
        kind = self.discriminator_kind
        if kind == "critic":
            D = arch.critic(shape, arch_norm)
        elif kind == "autoencoder":
            D = arch.autoencoder(shape, arch_norm)
        elif kind == "encoder":
            D = arch.encoder(shape, z_dim, arch_norm)
        else:
            raise ValueError(
                f"{type(self).__name__}.discriminator_kind={kind!r}; valid: {DISCRIMINATOR_KINDS}"
            )
        return apply_spectral_norm(D) if norm == "spectral" else D

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        """D's loss on a real batch and latents z (fakes made without G gradients), and logs."""
        raise NotImplementedError

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        """G's loss for latents z (`real` is used only by objectives that need it), and logs."""
        raise NotImplementedError

    def generator_parameters(self, G: nn.Module, D: nn.Module) -> Iterable[nn.Parameter]:
        """What the generator's optimiser updates."""
        return G.parameters()

    def after_d_step(self, D: nn.Module) -> None:
        """Called after each discriminator optimiser step."""

    def after_g_step(self) -> None:
        """Called after each generator optimiser step (once per iteration)."""

    def state_dict(self) -> dict[str, Any]:
        """Objective state to checkpoint (python scalars)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        if state:
            raise ValueError(f"{type(self).__name__} has no state; got keys {sorted(state)}")


def fake_batch(G: nn.Module, z: Tensor) -> Tensor:
    """G(z) for a discriminator step: no graph through G (D's step must not build G grads)."""
    with torch.no_grad():
        return G(z)


def detached(**values: Tensor) -> Logs:
    """Logs from loss tensors: detached so they hold no graph."""
    return {name: value.detach() for name, value in values.items()}
