"""Kernel MMD objectives: MMD GAN (an adversarially learned embedding under a fixed kernel) and
GMMN (a fixed kernel on the data itself, no discriminator). Losses in `family_losses.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from benchmark.objectives import family_losses as fl
from benchmark.objectives.base import Logs, Objective, detached, fake_batch
from benchmark.objectives.embedding import EmbeddingObjective
from benchmark.objectives.penalties import gradient_penalty, interpolate

KERNELS = ("rq", "rbf")


def _positive(name: str, values: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if not values or min(values) <= 0:
        raise ValueError(f"{name} must be a non-empty list of numbers > 0; got {list(values)}")
    return values


class MMDGAN(EmbeddingObjective):
    """MMD GAN with a gradient penalty on the witness function (Binkowski, Sutherland, Arbel &
    Gretton 2018, "Demystifying MMD GANs"), as their code (mbinkowski/MMD-GAN, gp_type
    data_space).

    h: x -> R^embed_dim, k a fixed kernel on h;  MMD^2_u = the unbiased estimate on
    {h(x_i)}, {h(G(z_j))};  G: MMD^2_u;  critic: -MMD^2_u + penalty * E[(||grad w(x^)|| - 1)^2],
    w(v) = mean_i k(h(v), h(x_i)) - mean_j k(h(v), h(G(z_j))) the witness (in data space),
    x^ = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample.
    kernel: "rq", sum over `alphas` of (1 + d^2 / (2 a))^-a (the paper's), or "rbf", sum over
    `variances` of exp(-d^2 / (2 s)) (Li et al. 2017's MMD GAN); plus `linear_weight` * h.h'
    ("rq*" with linear_weight > 0). Logs: d_loss, mmd2, gp; g_loss.
    """

    def __init__(self, kernel: str = "rq", alphas: Sequence[float] = fl.RQ_ALPHAS,
                 variances: Sequence[float] = (1.0, 4.0, 16.0, 64.0, 256.0),
                 linear_weight: float = 0.0, penalty: float = 1.0, embed_dim: int = 16) -> None:
        super().__init__(embed_dim)
        if kernel not in KERNELS:
            raise ValueError(f"MMD GAN kernel={kernel!r} is not known; valid: {KERNELS}")
        if penalty < 0 or linear_weight < 0:
            raise ValueError(f"MMD GAN penalty and linear_weight must be >= 0; "
                             f"got {penalty}, {linear_weight}")
        self.kernel_name = kernel
        self.alphas = _positive("MMD GAN alphas", alphas)
        self.variances = _positive("MMD GAN variances", variances)
        self.linear_weight = linear_weight
        self.penalty = penalty

    def kernel(self, a: Tensor, b: Tensor) -> Tensor:
        if self.kernel_name == "rq":
            k = fl.rq_kernel(a, b, self.alphas)
        else:
            k = fl.rbf_kernel(a, b, self.variances)
        if self.linear_weight:
            k = k + self.linear_weight * fl.linear_kernel(a, b)
        return k

    def mmd2(self, h_real: Tensor, h_fake: Tensor) -> Tensor:
        return fl.mmd2_unbiased(self.kernel(h_real, h_real), self.kernel(h_real, h_fake),
                                self.kernel(h_fake, h_fake))

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = fake_batch(G, z)
        h_real, h_fake = D(real), D(fake)
        mmd2 = self.mmd2(h_real, h_fake)

        def witness(v: Tensor) -> Tensor:
            h = D(v)
            return fl.mmd_witness(self.kernel(h, h_real), self.kernel(h, h_fake))

        gp = gradient_penalty(witness, interpolate(real, fake))
        loss = -mmd2 + self.penalty * gp
        return loss, detached(d_loss=loss, mmd2=mmd2, gp=gp)

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        loss = self.mmd2(D(real), D(G(z)))
        return loss, detached(g_loss=loss)


class GMMN(Objective):
    """Generative moment matching network (Li, Swersky & Zemel 2015), in data space: G alone
    minimises an MMD between its samples and the real batch under a fixed Gaussian mixture
    kernel; there is no discriminator (no D step, D is a parameterless stand-in).

    k(x, y) = sum over `variances` s of exp(-||x - y||^2 / (2 s))  (flattened samples);
    G: sqrt(MMD^2_b + 1e-10) with the biased estimate (`sqrt: true`, the paper's code's
    "sqrt gaussian" loss) or MMD^2_b itself. Logs: g_loss, mmd2.
    """

    trains_discriminator: ClassVar[bool] = False

    def __init__(self, variances: Sequence[float] = fl.GMMN_VARIANCES, sqrt: bool = True) -> None:
        self.variances = _positive("GMMN variances", variances)
        self.sqrt = sqrt

    def build_discriminator(self, arch: Any, shape: Sequence[int], z_dim: int,
                            *args: Any, **kwargs: Any) -> nn.Module:
        """No discriminator: an nn.Identity keeps the loop's D bookkeeping trivial."""
        return nn.Identity()

    def d_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        raise RuntimeError("GMMN has no discriminator step (trains_discriminator is False)")

    def g_loss(self, G: nn.Module, D: nn.Module, real: Tensor, z: Tensor) -> tuple[Tensor, Logs]:
        fake = G(z)
        mmd2 = fl.mmd2_biased(fl.rbf_kernel(fake, fake, self.variances),
                              fl.rbf_kernel(fake, real, self.variances),
                              fl.rbf_kernel(real, real, self.variances))
        loss = (mmd2.clamp_min(0) + fl.SQRT_EPS).sqrt() if self.sqrt else mmd2
        return loss, detached(g_loss=loss, mmd2=mmd2)
