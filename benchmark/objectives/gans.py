"""The study's GAN objectives: MM GAN, NS GAN, LSGAN, WGAN, WGAN-GP, DRAGAN, BEGAN.

Each follows compare_gan v1 (`src/gans/*.py`); where that code differs from the papers, the
docstring says which we follow. Losses are in `losses.py`, penalties in `penalties.py`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from benchmark.objectives import losses
from benchmark.objectives.base import Logs, Objective, detached, fake_batch
from benchmark.objectives.penalties import dragan_perturb, gradient_penalty, interpolate

# compare_gan's WGAN_GP.py and DRAGAN.py both take slopes = sqrt(1e-4 + sum(grad^2)).
STUDY_NORM_EPS = 1e-4


class _CriticObjective(Objective):
    """An objective on a D with one output per sample: D's loss is (real term + fake term)
    [+ penalty * gradient penalty], G's a function of D(G(z)).

    Logs: d_loss, d_real, d_fake (the two terms), gp (when penalised); g_loss.
    """

    penalty: float = 0.0

    def d_terms(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def g_term(self, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def gradient_penalty(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor | None:
        """The penalty term before weighting, or None for unpenalised objectives."""
        return None

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = fake_batch(G, z)
        # Real and fake go through D separately, as in the study (separate batch-norm stats).
        real_term, fake_term = self.d_terms(D(real), D(fake))
        loss = real_term + fake_term
        logs = {"d_real": real_term, "d_fake": fake_term}
        gp = self.gradient_penalty(D, real, fake)
        if gp is not None:
            loss = loss + self.penalty * gp
            logs["gp"] = gp
        return loss, detached(d_loss=loss, **logs)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        loss = self.g_term(D(G(z)))
        return loss, detached(g_loss=loss)


class MMGAN(_CriticObjective):
    """Minimax GAN (Goodfellow et al. 2014).

    D: E[-log sigma(D(x))] + E[-log(1 - sigma(D(G(z))))];  G: E[log(1 - sigma(D(G(z))))].
    """

    def d_terms(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        return losses.bce_real_fake(d_real, d_fake)

    def g_term(self, d_fake: Tensor) -> Tensor:
        return losses.mm_generator(d_fake)


class NSGAN(MMGAN):
    """Non-saturating GAN (Goodfellow et al. 2014).

    D: as MM GAN;  G: E[-log sigma(D(G(z)))].
    """

    def g_term(self, d_fake: Tensor) -> Tensor:
        return losses.ns_generator(d_fake)


class LSGAN(_CriticObjective):
    """Least-squares GAN (Mao et al. 2017), on sigmoid(D) as the study's code does.

    D: 0.5 E[(sigma(D(x)) - 1)^2] + 0.5 E[sigma(D(G(z)))^2];  G: 0.5 E[(sigma(D(G(z))) - 1)^2].
    (The LSGAN paper uses D's raw output; compare_gan LSGAN.py squares the sigmoid output.)
    """

    def d_terms(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        return losses.least_squares_d(d_real, d_fake)

    def g_term(self, d_fake: Tensor) -> Tensor:
        return losses.least_squares_g(d_fake)


class _Wasserstein(_CriticObjective):
    """Critic: E[f(G(z))] - E[f(x)];  G: -E[f(G(z))]."""

    def d_terms(self, d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
        return losses.wasserstein_d(d_real, d_fake)

    def g_term(self, d_fake: Tensor) -> Tensor:
        return losses.wasserstein_g(d_fake)


class WGAN(_Wasserstein):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017).

    Critic: E[f(G(z))] - E[f(x)];  G: -E[f(G(z))];  after each critic step every critic
    parameter (batch-norm scales and shifts included, as compare_gan clips every D variable)
    is clamped to [-clip, clip].
    """

    def __init__(self, clip: float = 0.01) -> None:
        if clip <= 0:
            raise ValueError(f"WGAN clip must be > 0; got {clip}")
        self.clip = clip

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)


class WGANGP(_Wasserstein):
    """WGAN with gradient penalty (Gulrajani et al. 2017); no clipping.

    Critic: E[f(G(z))] - E[f(x)] + penalty * E[(||grad f(x^)|| - 1)^2],
    x^ = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample;  G: -E[f(G(z))].
    The norm is sqrt(1e-4 + sum grad^2) over all non-batch dims, as compare_gan WGAN_GP.py.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        if penalty < 0:
            raise ValueError(f"WGAN-GP penalty must be >= 0; got {penalty}")
        self.penalty = penalty

    def gradient_penalty(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return gradient_penalty(D, interpolate(real, fake), eps=STUDY_NORM_EPS)


class DRAGAN(NSGAN):
    """DRAGAN (Kodali et al. 2017): NS GAN + a gradient penalty around the data.

    D: NS GAN's D loss + penalty * E[(sqrt(1e-4 + ||grad sigma(D(x^))||^2) - 1)^2],
    x_p = x + 0.5 std(x) U[0, 1) (std over the batch, noise per element),
    x^ = x + alpha (x_p - x), alpha ~ U[0, 1] per sample;  G: NS GAN's.

    The gradient is of D's sigmoid output, as in compare_gan DRAGAN.py (which differentiates
    D's probability output, unlike its WGAN-GP, which differentiates the critic's logits) and as
    in the paper's formula, whose D is a probability.
    """

    def __init__(self, penalty: float = 10.0) -> None:
        if penalty < 0:
            raise ValueError(f"DRAGAN penalty must be >= 0; got {penalty}")
        self.penalty = penalty

    def gradient_penalty(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        points = interpolate(real, dragan_perturb(real))
        return gradient_penalty(lambda v: torch.sigmoid(D(v)), points, eps=STUDY_NORM_EPS)


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
