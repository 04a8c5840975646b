"""GAN objectives composed of a loss and a penalty (`GAN`; the study's MM GAN, NS GAN, LSGAN,
WGAN, WGAN-GP and DRAGAN are its presets, conf/gan/), and BEGAN.

Each follows compare_gan v1 (`src/gans/*.py`); where that code differs from the papers, the
docstring says which we follow. Losses are in `losses.py`, penalty terms in `penalties.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from hydra.utils import get_method
from torch import Tensor, nn

from benchmark.objectives import losses
from benchmark.objectives.base import Logs, Objective, detached, fake_batch

# (D(x), D(G(z))) -> (real term, fake term); D(G(z)) -> G's loss; (D, x, G(z)) -> penalty term.
DTerms = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
GTerm = Callable[[Tensor], Tensor]
PenaltyTerm = Callable[[nn.Module, Tensor, Tensor], Tensor]

# How real and fake batches go through D: one forward each (the study) or one concatenated.
D_BATCHES = ("separate", "joint")


class GAN(Objective):
    """A GAN on a D with one output per sample, composed of a loss and a penalty
    (Kurach et al. 2019's loss x penalty axes; D's normalisation is the third, built with D):

        D: real + fake + penalty * regularizer(D, x, G(z)),  (real, fake) = d_terms(D(x), D(G(z)))
        G: g_term(D(G(z)))

    The GAN presets (conf/gan/*.yaml) build it from the `loss=` and `penalty=` config groups:
    d_terms, g_term = loss.d, loss.g; regularizer, penalty = penalty.term, penalty.weight. The
    functions come as callables or, from a config, as import paths ("pkg.module.function").
    `clip` (WGAN's weight clipping, a property of its preset): after each D step every D
    parameter is clamped to [-clip, clip]. The penalty's random draws come after D's forwards.

    `d_batch`: how real and fake go through D. "separate" (the study's compare_gan: one forward
    each, so batch norm in D normalises the real and the fake batch by their own statistics) or
    "joint" (one forward on the concatenated batch, also in G's step, so batch norm in D sees
    both: as Keras' DCGAN example and BigGAN-PyTorch do). Only a D with batch norm behaves
    differently: with separate statistics D cannot see how the fake batch's mean differs from
    the real one's, and a G stuck at a blank image gets little gradient out of it
    (docs/ns_gan_digits.md). The penalty term always runs D on its own points.
    Logs: d_loss, d_real, d_fake, gp (the penalty term before weighting, when there is one);
    g_loss.
    """

    composes: ClassVar[tuple[str, ...]] = ("loss", "penalty")

    def __init__(self, d_terms: DTerms | str, g_term: GTerm | str,
                 regularizer: PenaltyTerm | str | None = None, penalty: float = 0.0,
                 clip: float | None = None, d_batch: str = "separate") -> None:
        if d_batch not in D_BATCHES:
            raise ValueError(f"d_batch={d_batch!r} is not known; valid: {', '.join(D_BATCHES)}")
        if penalty < 0:
            raise ValueError(f"penalty weight must be >= 0; got {penalty}")
        if regularizer is None and penalty > 0:
            # e.g. a preset's searched weight with penalty=none: the weight would do nothing
            raise ValueError(f"penalty weight {penalty} without a penalty term (penalty=none)")
        if clip is not None and clip <= 0:
            raise ValueError(f"clip must be > 0 (or null: no clipping); got {clip}")
        self.d_terms: DTerms = _function(d_terms)
        self.g_term: GTerm = _function(g_term)
        self.regularizer: PenaltyTerm | None = (None if regularizer is None
                                                 else _function(regularizer))
        self.penalty, self.clip, self.d_batch = penalty, clip, d_batch

    def _discriminate(self, D: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """(D(real), D(fake)), by `d_batch`."""
        if self.d_batch == "joint":
            out = D(torch.cat([real, fake]))
            return out[: len(real)], out[len(real):]
        return D(real), D(fake)

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = fake_batch(G, z)
        real_term, fake_term = self.d_terms(*self._discriminate(D, real, fake))
        loss = real_term + fake_term
        logs = {"d_real": real_term, "d_fake": fake_term}
        if self.regularizer is not None:
            gp = self.regularizer(D, real, fake)
            loss = loss + self.penalty * gp
            logs["gp"] = gp
        return loss, detached(d_loss=loss, **logs)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = G(z)
        d_fake = self._discriminate(D, real, fake)[1] if self.d_batch == "joint" else D(fake)
        loss = self.g_term(d_fake)
        return loss, detached(g_loss=loss)

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        if self.clip is not None:
            for p in D.parameters():
                p.clamp_(-self.clip, self.clip)


def _function(f: Callable | str) -> Callable:
    # An import path, not a Hydra `_partial_`: Hydra 1.3.8 re-authorises every call of its
    # partials (~0.3 ms each, three times a step).
    return get_method(f) if isinstance(f, str) else f


# When BEGAN's balance gamma L(x) - L(G(z)) is measured for the k update (see BEGAN).
BEGAN_K_ERRORS = ("after_update", "before_update")


class BEGAN(Objective):
    """Boundary equilibrium GAN (Berthelot et al. 2017); D is an auto-encoder.

    L(v) = mean |v - D(v)|;  D: L(x) - k_t L(G(z));  G: L(G(z));
    k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z))), k_0 = 0, clipped to [0, 1] if `k_clip`.

    k is updated once per D step (n_disc times per G step), as compare_gan v1 does (its
    `after_training_step_hook` runs after every step; BEGAN.py@49495fd). The two switches:

    k_clip: false (default; the study's `update_k` assigns k + lambda (gamma L(x) - L(G(z)))
        unclipped, so k can go negative or above 1) | true (the paper's k_t in [0, 1]).
    k_errors: which L(x), L(G(z)) enter the balance.
        "after_update" (default; the study): re-measured on the same real batch and z once the
        step's updates are done: after the D step with the updated D (L(G(z)) reuses the D
        step's G(z): G has not changed since); for the last D step before a G step, after that
        G step, with the updated G as well. (compare_gan ran one step as D update, G update
        when due, then the k update on that step's batch and z; its G update comes right after
        the D update that precedes it in our loop too, so the same D step's k sees the new G.)
        Costs two extra D forwards per D step and a G + D forward per G step, without grads.
        "before_update": the errors of the D step's own forward pass, from before its update
        (no extra forward; ours before, and the common BEGAN implementations' order).
    Logs: d_loss, d_real = L(x), d_fake = L(G(z)), k (the k this D step used), M (convergence
    measure L(x) + |gamma L(x) - L(G(z))|); g_loss.
    """

    discriminator_kind: ClassVar[str] = "autoencoder"

    def __init__(self, gamma: float = 0.75, lambda_k: float = 1e-3, k_clip: bool = False,
                 k_errors: str = "after_update") -> None:
        if not 0 <= gamma <= 1:
            raise ValueError(f"BEGAN gamma must be in [0, 1]; got {gamma}")
        if lambda_k < 0:
            raise ValueError(f"BEGAN lambda_k must be >= 0; got {lambda_k}")
        if k_errors not in BEGAN_K_ERRORS:
            raise ValueError(f"BEGAN k_errors={k_errors!r} is not known; valid: {BEGAN_K_ERRORS}")
        self.gamma = gamma
        self.lambda_k = lambda_k
        self.k_clip = bool(k_clip)
        self.k_errors = k_errors
        # A tensor on the data's device once updated (no host sync per step); a float before.
        self.k: Tensor | float = 0.0
        # From d_loss to after_d_step: (G, real, z, G(z), L(x), L(G(z))) of the D step.
        self._d_step: tuple[nn.Module, Tensor, Tensor, Tensor, Tensor, Tensor] | None = None
        # From after_d_step to after_g_step ("after_update"): (k before the last D step's
        # update, its re-measured L(x), G, D, z), to redo that update with the new G.
        self._pending: tuple[Tensor | float, Tensor, nn.Module, nn.Module, Tensor] | None = None

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = fake_batch(G, z)
        real_err = losses.l1_reconstruction(real, D(real))
        fake_err = losses.l1_reconstruction(fake, D(fake))
        loss = real_err - self.k * fake_err
        self._d_step = (G, real, z, fake, real_err.detach(), fake_err.detach())
        k = torch.as_tensor(self.k, dtype=real_err.dtype, device=real_err.device)
        m = losses.began_convergence(real_err, fake_err, self.gamma)
        return loss, detached(d_loss=loss, d_real=real_err, d_fake=fake_err, k=k, M=m)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = G(z)
        loss = losses.l1_reconstruction(fake, D(fake))
        return loss, detached(g_loss=loss)

    def k_step(self, k: Tensor | float, real_err: Tensor, fake_err: Tensor) -> Tensor:
        """k + lambda_k (gamma L(x) - L(G(z))), clipped to [0, 1] when `k_clip`."""
        k = torch.as_tensor(k, dtype=real_err.dtype, device=real_err.device)
        k = k + self.lambda_k * (self.gamma * real_err - fake_err)
        return k.clamp(0.0, 1.0) if self.k_clip else k

    def after_d_step(self, D: nn.Module) -> None:
        if self._d_step is None:
            return
        G, real, z, fake, real_err, fake_err = self._d_step
        self._d_step = None
        if self.k_errors == "before_update":
            self.k = self.k_step(self.k, real_err, fake_err)
            return
        with torch.no_grad():
            real_err = losses.l1_reconstruction(real, D(real))
            fake_err = losses.l1_reconstruction(fake, D(fake))
        self._pending = (self.k, real_err, G, D, z)
        self.k = self.k_step(self.k, real_err, fake_err)

    def after_g_step(self) -> None:
        if self._pending is None:
            return
        k_before, real_err, G, D, z = self._pending
        self._pending = None
        with torch.no_grad():
            fake = G(z)
            fake_err = losses.l1_reconstruction(fake, D(fake))
        self.k = self.k_step(k_before, real_err, fake_err)

    def state_dict(self) -> dict[str, Any]:
        return {"k": float(self.k)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = float(state["k"])
