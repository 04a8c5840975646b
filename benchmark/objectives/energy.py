"""Energy-based objectives with an auto-encoder discriminator: EBGAN and MAGAN.

D's energy of a sample is its reconstruction error (`family_losses.reconstruction_energy`,
per-element mean squared error). Losses are in `family_losses.py`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from benchmark.objectives import family_losses as fl
from benchmark.objectives.base import Logs, Objective, detached, fake_batch


def code_layer(D: nn.Module) -> nn.Linear:
    """The auto-encoder's code layer: its narrowest nn.Linear other than the last one (the last
    may be the output layer, as in the MLP auto-encoder, whose width is the data's).

    Both architectures' auto-encoders have exactly one bottleneck Linear (InfoGAN: FC 64·width;
    MLP: hidden // 4), so this finds it without the nets exposing their encoder.
    """
    linears = [m for m in D.modules() if isinstance(m, nn.Linear)][:-1]
    if not linears:
        raise ValueError("the pulling-away term needs an auto-encoder with a Linear code layer")
    return min(linears, key=lambda m: m.out_features)


@contextmanager
def captured_output(module: nn.Module) -> Iterator[list[Tensor]]:
    """Collects `module`'s forward outputs while the context is open (a temporary hook)."""
    outputs: list[Tensor] = []
    handle = module.register_forward_hook(lambda _m, _in, out: outputs.append(out))
    try:
        yield outputs
    finally:
        handle.remove()


class EBGAN(Objective):
    """Energy-based GAN (Zhao, Mathieu & LeCun 2017) with an auto-encoder D.

    D(v) = mean (Dec(Enc(v)) - v)^2 per sample;  D: E[D(x)] + E[max(0, m - D(G(z)))];
    G: E[D(G(z))] + pt_weight * f_PT(S), S = the encoder codes of G(z) (EBGAN-PT; off at 0).
    The code is the output of D's bottleneck Linear (before its norm and activation).
    Logs: d_loss, d_real = E[D(x)], d_fake = the hinge term, energy_fake = E[D(G(z))];
    g_loss, pt (when on).
    """

    discriminator_kind: ClassVar[str] = "autoencoder"

    def __init__(self, margin: float = 0.128, pt_weight: float = 0.0) -> None:
        if not (math.isfinite(margin) and margin > 0):
            raise ValueError(f"EBGAN margin must be a finite number > 0; got {margin}")
        if pt_weight < 0:
            raise ValueError(f"EBGAN pt_weight must be >= 0; got {pt_weight}")
        self.margin: Tensor | float = margin
        self.pt_weight = pt_weight

    def energies(self, D: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        # Real and fake go through D separately (separate batch-norm statistics), as the study.
        return (fl.reconstruction_energy(real, D(real)),
                fl.reconstruction_energy(fake, D(fake)))

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        real_e, fake_e = self.energies(D, real, fake_batch(G, z))
        real_term, fake_term = fl.energy_d(real_e, fake_e, self.margin)
        loss = real_term + fake_term
        return loss, detached(d_loss=loss, d_real=real_term, d_fake=fake_term,
                              energy_fake=fake_e.mean())

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = G(z)
        if self.pt_weight == 0:
            loss = fl.energy_g(fl.reconstruction_energy(fake, D(fake)))
            return loss, detached(g_loss=loss)
        with captured_output(code_layer(D)) as codes:
            energy = fl.energy_g(fl.reconstruction_energy(fake, D(fake)))
        pt = fl.pulling_away(codes[0])
        loss = energy + self.pt_weight * pt
        return loss, detached(g_loss=loss, pt=pt)


class MAGAN(EBGAN):
    """Margin-adaptation GAN (Wang, Cully, Chang & Demiris 2017): EBGAN whose margin follows the
    real data's energy.

    Our reading of the paper's Algorithm 1 (and of the reference re-implementation in
    kozistr/Awesome-GANs):
      1. pre-train D as a plain auto-encoder on real data (D: E[D(x)]; G does not move) for
         `pretrain_epochs` epochs; the margin starts at the mean real energy of the last of
         them (the paper: the expected real energy after pre-training);
      2. then train as EBGAN with margin m, summing the real and fake energies S_real, S_fake
         over each epoch; at its end, m <- S_real / N if S_real / N < m, S_real < S_fake and the
         epoch's S_fake is not below the previous epoch's (`family_losses.magan_margin`).
    The margin only ever decreases. The loop has no epoch hook, so an epoch here is
    `epoch_steps` discriminator steps (one real batch each, the study's epoch unit); set it to
    len(train split) / batch_size for exact epochs. With pretrain_epochs=0 the margin starts at
    the first batch's mean real energy.

    State (checkpointed): margin, the D steps done, the current epoch's sums and count, and the
    previous epoch's S_fake. Logs: EBGAN's plus margin once it is set; while pre-training
    only d_loss = d_real = E[D(x)] (and g_loss = 0).
    """

    def __init__(self, epoch_steps: int = 1000, pretrain_epochs: int = 1,
                 pt_weight: float = 0.0) -> None:
        super().__init__(pt_weight=pt_weight)
        if epoch_steps < 1 or pretrain_epochs < 0:
            raise ValueError("MAGAN needs epoch_steps >= 1 and pretrain_epochs >= 0; "
                             f"got {epoch_steps}, {pretrain_epochs}")
        self.epoch_steps = epoch_steps
        self.pretrain_steps = pretrain_epochs * epoch_steps
        self.margin: Tensor | float | None = None  # type: ignore[assignment]
        self.d_steps = 0
        # Epoch accumulators: tensors on the data's device between updates (no host sync).
        self.real_sum: Tensor | float = 0.0
        self.fake_sum: Tensor | float = 0.0
        self.count = 0
        self.prev_fake_sum: Tensor | float = math.inf
        self._last: tuple[Tensor, Tensor, int] | None = None

    @property
    def pretraining(self) -> bool:
        return self.d_steps < self.pretrain_steps

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        if self.pretraining:
            real_e = fl.reconstruction_energy(real, D(real))
            loss = real_e.mean()
            self._last = (real_e.detach().sum(), torch.zeros_like(loss).detach(), real.shape[0])
            return loss, detached(d_loss=loss, d_real=loss)
        real_e, fake_e = self.energies(D, real, fake_batch(G, z))
        if self.margin is None:  # no pre-training: start from this batch's real energy
            self.margin = real_e.detach().mean()
        real_term, fake_term = fl.energy_d(real_e, fake_e, self.margin)
        loss = real_term + fake_term
        self._last = (real_e.detach().sum(), fake_e.detach().sum(), real.shape[0])
        margin = torch.as_tensor(self.margin, dtype=loss.dtype, device=loss.device)
        return loss, detached(d_loss=loss, d_real=real_term, d_fake=fake_term,
                              energy_fake=fake_e.mean(), margin=margin)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        if self.pretraining:
            # G waits for D's pre-training: a loss with no parameters leaves G as it is.
            zero = torch.zeros((), device=z.device, requires_grad=True)
            return zero, detached(g_loss=zero)
        return super().g_loss(G, D, real, z)

    def after_d_step(self, D: nn.Module) -> None:
        if self._last is None:
            return
        real_sum, fake_sum, n = self._last
        self._last = None
        self.d_steps += 1
        self.real_sum = self.real_sum + real_sum
        self.fake_sum = self.fake_sum + fake_sum
        self.count += n
        if self.d_steps % self.epoch_steps:
            return
        if self.d_steps == self.pretrain_steps:  # pre-training ends: m = mean real energy
            self.margin = self.real_sum / self.count
        elif self.d_steps > self.pretrain_steps:
            real_t = torch.as_tensor(self.real_sum)
            self.margin = fl.magan_margin(
                torch.as_tensor(self.margin, dtype=real_t.dtype, device=real_t.device),
                real_t, torch.as_tensor(self.fake_sum, dtype=real_t.dtype, device=real_t.device),
                torch.as_tensor(self.prev_fake_sum, dtype=real_t.dtype, device=real_t.device),
                self.count)
            self.prev_fake_sum = self.fake_sum
        self.real_sum, self.fake_sum, self.count = 0.0, 0.0, 0

    def state_dict(self) -> dict[str, Any]:
        def num(v: Tensor | float | None) -> float | None:
            return None if v is None else float(v)

        return {"margin": num(self.margin), "d_steps": self.d_steps,
                "real_sum": num(self.real_sum), "fake_sum": num(self.fake_sum),
                "count": self.count, "prev_fake_sum": num(self.prev_fake_sum)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # float32 sums -> python floats -> float32 tensors on the next update: exact round trip.
        self.margin = state["margin"]
        self.d_steps = int(state["d_steps"])
        self.real_sum, self.fake_sum = state["real_sum"], state["fake_sum"]
        self.count = int(state["count"])
        self.prev_fake_sum = state["prev_fake_sum"]
        self._last = None
