"""Integral-probability-metric objectives beyond WGAN: Fisher GAN, McGAN and Cramér GAN.

Losses are in `family_losses.py`; the gradient penalty and interpolates are `penalties.py`'s.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from benchmark.latent import LATENTS, latent_sampler
from benchmark.objectives import family_losses as fl
from benchmark.objectives.base import Logs, Objective, detached, fake_batch
from benchmark.objectives.embedding import EmbeddingObjective
from benchmark.objectives.penalties import gradient_penalty, interpolate

MATCHING = ("mean", "covariance", "mean_covariance")


class FisherGAN(Objective):
    """Fisher GAN (Mroueh & Sercu 2017): a scalar critic f under a data-dependent second-moment
    constraint, enforced by an augmented Lagrangian.

    E^ = E[f(x)] - E[f(G(z))],  Omega^ = 0.5 (E[f(x)^2] + E[f(G(z))^2]);
    critic: -(E^ + lambda (1 - Omega^) - rho/2 (1 - Omega^)^2);  G: -E[f(G(z))];
    after each critic step lambda <- lambda - rho (1 - Omega^) (Omega^ of that step's batch),
    lambda_0 = 0. lambda is checkpointed.
    Logs: d_loss, d_real = E[f(x)], d_fake = E[f(G(z))], ipm = E^, constraint = 1 - Omega^,
    lambda (before this step's update); g_loss.
    """

    def __init__(self, rho: float = 1e-6) -> None:
        if rho < 0:
            raise ValueError(f"Fisher GAN rho must be >= 0; got {rho}")
        self.rho = rho
        # A tensor on the data's device once updated (no host sync per step); a float before.
        self.lam: Tensor | float = 0.0
        self._omega: Tensor | None = None

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        f_real, f_fake = D(real), D(fake_batch(G, z))
        ipm, omega = fl.fisher_terms(f_real, f_fake)
        loss = fl.fisher_critic(ipm, omega, self.lam, self.rho)
        self._omega = omega.detach()
        lam = torch.as_tensor(self.lam, dtype=loss.dtype, device=loss.device)
        return loss, detached(d_loss=loss, d_real=f_real.mean(), d_fake=f_fake.mean(), ipm=ipm,
                              constraint=1 - omega, **{"lambda": lam})

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        loss = fl.ipm_generator(D(G(z)))
        return loss, detached(g_loss=loss)

    def after_d_step(self, D: nn.Module) -> None:
        if self._omega is not None:
            self.lam = fl.fisher_lambda(self.lam, self._omega, self.rho)
            self._omega = None

    def state_dict(self) -> dict[str, Any]:
        return {"lambda": float(self.lam)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lam = float(state["lambda"])
        self._omega = None


class McGAN(EmbeddingObjective):
    """McGAN (Mroueh, Sercu & Goel 2017): mean (and/or covariance) feature matching on an
    embedding phi_w: x -> R^d whose weights are clipped to [-clip, clip].

    distance = ||mu(P) - mu(Q)||_q                              (matching: mean)
             + sum of the `cov_rank` largest singular values of
               Sigma(P) - Sigma(Q), Sigma = E[phi phi^T]         (matching: covariance)
    (mean_covariance: the sum of both, the paper's "McGan"). Critic: -distance; G: distance.
    Both are the IPMs' primal forms: the paper's inner maximisations over v (||v||_p <= 1)
    and over U, V in O(d, k) are done in closed form, so there is no v, U or V to project.
    Constraint on the embedding: after every critic step each critic parameter (batch-norm
    scales and shifts included) is clamped to [-clip, clip], as WGAN's clipping and the paper's
    Omega. Logs: d_loss, mean_dist, cov_dist (as enabled); g_loss.
    """

    def __init__(self, matching: str = "mean", q: float = 2.0, cov_rank: int = 16,
                 clip: float = 0.01, embed_dim: int = 64) -> None:
        super().__init__(embed_dim)
        if matching not in MATCHING:
            raise ValueError(f"McGAN matching={matching!r} is not known; valid: {MATCHING}")
        if q < 1:
            raise ValueError(f"McGAN q must be >= 1 (a norm); got {q}")
        if not 1 <= cov_rank <= embed_dim:
            raise ValueError(f"McGAN cov_rank must be in [1, embed_dim={embed_dim}]; "
                             f"got {cov_rank}")
        if clip <= 0:
            raise ValueError(f"McGAN clip must be > 0; got {clip}")
        self.matching, self.q, self.cov_rank, self.clip = matching, q, cov_rank, clip

    def distance(self, phi_real: Tensor, phi_fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        terms = {}
        if self.matching in ("mean", "mean_covariance"):
            terms["mean_dist"] = fl.mean_feature_distance(phi_real, phi_fake, self.q)
        if self.matching in ("covariance", "mean_covariance"):
            terms["cov_dist"] = fl.covariance_feature_distance(phi_real, phi_fake, self.cov_rank)
        return sum(terms.values()), terms  # type: ignore[return-value]

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        dist, terms = self.distance(D(real), D(fake_batch(G, z)))
        loss = -dist
        return loss, detached(d_loss=loss, **terms)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        with torch.no_grad():  # mu(P), Sigma(P) need no graph: only G steps
            phi_real = D(real)
        loss, _ = self.distance(phi_real, D(G(z)))
        return loss, detached(g_loss=loss)

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)


class CramerGAN(EmbeddingObjective):
    """Cramér GAN (Bellemare et al. 2017, Algorithm 1): the energy distance in the space of an
    embedding h, with two independent generated batches x_g = G(z), x'_g = G(z').

    f(x) = ||h(x) - h(x'_g)|| - ||h(x)||  (rows of x paired with rows of x'_g);
    critic: -(E[f(x_r)] - E[f(x_g)]) + penalty * E[(||grad f(x^)|| - 1)^2],
            x^ = x_r + alpha (x_g - x_r), alpha ~ U[0, 1] per sample;
    G: E||h(x_r) - h(x_g)|| + E||h(x_r) - h(x'_g)|| - E||h(x_g) - h(x'_g)||.
    z' is drawn here from `latent` (the config interpolates gan.latent), from torch's global RNG
    as the loop's z. Logs: d_loss, d_real = -E[f(x_r)], d_fake = E[f(x_g)], gp; g_loss.
    """

    def __init__(self, penalty: float = 10.0, embed_dim: int = 256,
                 latent: str = "uniform") -> None:
        super().__init__(embed_dim)
        if penalty < 0:
            raise ValueError(f"Cramér GAN penalty must be >= 0; got {penalty}")
        if latent not in LATENTS:
            raise ValueError(f"Cramér GAN latent={latent!r} is not known; valid: {sorted(LATENTS)}")
        self.penalty = penalty
        self.latent = latent

    def second_z(self, z: Tensor) -> Tensor:
        """An independent latent batch like z."""
        return latent_sampler(self.latent, z.shape[1], z.device)(z.shape[0]).to(z.dtype)

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake, fake2 = fake_batch(G, z), fake_batch(G, self.second_z(z))
        h_fake2 = D(fake2)
        real_term, fake_term = fl.cramer_d(fl.cramer_critic(D(real), h_fake2),
                                           fl.cramer_critic(D(fake), h_fake2))
        gp = gradient_penalty(lambda v: fl.cramer_critic(D(v), h_fake2), interpolate(real, fake))
        loss = real_term + fake_term + self.penalty * gp
        return loss, detached(d_loss=loss, d_real=real_term, d_fake=fake_term, gp=gp)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        with torch.no_grad():  # h(x_r) needs no graph: only G steps
            h_real = D(real)
        loss = fl.cramer_generator(h_real, D(G(z)), D(G(self.second_z(z))))
        return loss, detached(g_loss=loss)
