"""GAN objectives composed of a loss and a penalty (`GAN`), the study's as compositions (MM GAN,
NS GAN, LSGAN, WGAN, WGAN-GP, DRAGAN), and BEGAN.

Each follows compare_gan v1 (`src/gans/*.py`); where that code differs from the papers, the
docstring says which we follow. Losses are in `losses.py`, penalty terms in `penalties.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from hydra.utils import get_method
from torch import Tensor, nn

from benchmark.objectives import losses, penalties
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


class MMGAN(GAN):
    """Minimax GAN (Goodfellow et al. 2014): loss=mm, penalty=none.

    D: E[-log sigma(D(x))] + E[-log(1 - sigma(D(G(z))))];  G: E[log(1 - sigma(D(G(z))))].
    """

    def __init__(self) -> None:
        super().__init__(losses.bce_real_fake, losses.mm_generator)


class NSGAN(GAN):
    """Non-saturating GAN (Goodfellow et al. 2014): loss=ns, penalty=none.

    D: as MM GAN;  G: E[-log sigma(D(G(z)))].
    """

    def __init__(self) -> None:
        super().__init__(losses.bce_real_fake, losses.ns_generator)


class LSGAN(GAN):
    """Least-squares GAN (Mao et al. 2017), on sigmoid(D) as the study's code: loss=ls.

    D: 0.5 E[(sigma(D(x)) - 1)^2] + 0.5 E[sigma(D(G(z)))^2];  G: 0.5 E[(sigma(D(G(z))) - 1)^2].
    (The LSGAN paper uses D's raw output; compare_gan LSGAN.py squares the sigmoid output.)
    """

    def __init__(self) -> None:
        super().__init__(losses.least_squares_d, losses.least_squares_g)


class WGAN(GAN):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017): loss=wasserstein + clip.

    Critic: E[f(G(z))] - E[f(x)];  G: -E[f(G(z))];  after each critic step every critic
    parameter (batch-norm scales and shifts included, as compare_gan clips every D variable)
    is clamped to [-clip, clip].
    """

    def __init__(self, clip: float = 0.01) -> None:
        super().__init__(losses.wasserstein_d, losses.wasserstein_g, clip=clip)


class WGANGP(GAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017): loss=wasserstein, penalty=wgan_gp.

    Critic: E[f(G(z))] - E[f(x)] + penalty * E[(||grad f(x^)|| - 1)^2],
    x^ = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample;  G: -E[f(G(z))].
    The norm is sqrt(1e-4 + sum grad^2) over all non-batch dims, as compare_gan WGAN_GP.py.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        super().__init__(losses.wasserstein_d, losses.wasserstein_g, penalties.wgan_gp, penalty)


class DRAGAN(GAN):
    """DRAGAN (Kodali et al. 2017): NS GAN + a gradient penalty around the data (loss=ns,
    penalty=dragan).

    D: NS GAN's D loss + penalty * E[(sqrt(1e-4 + ||grad sigma(D(x^))||^2) - 1)^2],
    x_p = x + 0.5 std(x) U[0, 1) (std over the batch, noise per element),
    x^ = x + alpha (x_p - x), alpha ~ U[0, 1] per sample;  G: NS GAN's.

    The gradient is of D's sigmoid output, as in compare_gan DRAGAN.py (which differentiates
    D's probability output, unlike its WGAN-GP, which differentiates the critic's logits) and as
    in the paper's formula, whose D is a probability.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        super().__init__(losses.bce_real_fake, losses.ns_generator, penalties.dragan, penalty)


class BEGAN(Objective):
    """Boundary equilibrium GAN (Berthelot et al. 2017); D is an auto-encoder.

    L(v) = mean |v - D(v)|;  D: L(x) - k_t L(G(z));  G: L(G(z));
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1), k_0 = 0.

    k is updated after every D step (n_disc times per G step), as the study's code does, from
    that step's detached L(x) and L(G(z)) (compare_gan recomputed them after the update, a
    second forward pass we skip). The paper clips k to [0, 1]; compare_gan did not; we clip.
    Logs: d_loss, d_real = L(x), d_fake = L(G(z)), k, M (convergence measure
    L(x) + |gamma L(x) - L(G(z))|); g_loss.
    """

    discriminator_kind: ClassVar[str] = "autoencoder"

    def __init__(self, gamma: float = 0.75, lambda_k: float = 1e-3) -> None:
        if not 0 <= gamma <= 1:
            raise ValueError(f"BEGAN gamma must be in [0, 1]; got {gamma}")
        if lambda_k < 0:
            raise ValueError(f"BEGAN lambda_k must be >= 0; got {lambda_k}")
        self.gamma = gamma
        self.lambda_k = lambda_k
        # A tensor on the data's device once updated (no host sync per step); a float before.
        self.k: Tensor | float = 0.0
        self._last_errors: tuple[Tensor, Tensor] | None = None

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = fake_batch(G, z)
        real_err = losses.l1_reconstruction(real, D(real))
        fake_err = losses.l1_reconstruction(fake, D(fake))
        loss = real_err - self.k * fake_err
        self._last_errors = (real_err.detach(), fake_err.detach())
        k = torch.as_tensor(self.k, dtype=real_err.dtype, device=real_err.device)
        m = losses.began_convergence(real_err, fake_err, self.gamma)
        return loss, detached(d_loss=loss, d_real=real_err, d_fake=fake_err, k=k, M=m)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = G(z)
        loss = losses.l1_reconstruction(fake, D(fake))
        return loss, detached(g_loss=loss)

    def after_d_step(self, D: nn.Module) -> None:
        if self._last_errors is None:
            return
        real_err, fake_err = self._last_errors
        self.k = losses.began_k_update(self.k, real_err, fake_err, self.gamma, self.lambda_k)

    def state_dict(self) -> dict[str, Any]:
        return {"k": float(self.k)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = float(state["k"])
