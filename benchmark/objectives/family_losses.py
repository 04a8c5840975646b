"""Loss formulas of the objectives beyond the study (energy, IPM and MMD families), as small pure
functions of network outputs, each with its formula and source.

Notation: E = batch mean; x real, G(z) fake; D(v) an auto-encoder's reconstruction error
("energy"); f a scalar critic; h (or phi) a vector embedding (the critic's output, (B, d)).
Discriminator losses return (real term, fake term) where the terms split naturally, as in
`losses.py`; the discriminator minimises their sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# The RQ mixture of Binkowski et al. 2018 ("Demystifying MMD GANs", sec. 5 and their code).
RQ_ALPHAS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Li, Swersky & Zemel 2015 (GMMN), data space: k = sum_s exp(-||x - y||^2 / (2 s)) (their code
# calls s "sigma"; it multiplies the squared distance, so it is a variance).
GMMN_VARIANCES = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
# F.normalize's floor on a norm: a zero code vector gets cosine 0 instead of NaN.
COSINE_EPS = 1e-12
# sqrt(MMD^2 + eps) in GMMN: finite gradient where the estimate is 0 (their code: 2 sqrt + 1e-10).
SQRT_EPS = 1e-10


# --- energy-based (EBGAN, MAGAN) -----------------------------------------------------------

def reconstruction_energy(x: Tensor, reconstruction: Tensor) -> Tensor:
    """Per-sample energy D(v) = mean over all non-batch dims of (Dec(Enc(v)) - v)^2, shape (B,).

    EBGAN's paper writes D(x) = ||Dec(Enc(x)) - x||; we take the per-element mean squared error
    (the usual implementation), so a margin is in units of a pixel's squared error and does not
    grow with the image size.
    """
    return (reconstruction - x).square().flatten(1).mean(1)


def energy_d(real_energy: Tensor, fake_energy: Tensor, margin: Tensor | float
             ) -> tuple[Tensor, Tensor]:
    """EBGAN's discriminator loss E[D(x)] + E[max(0, m - D(G(z)))] (Zhao et al. 2017, eq. 1),
    the hinge taken per sample, as (real, fake) = (E[D(x)], E[[m - D(G(z))]^+])."""
    return real_energy.mean(), F.relu(margin - fake_energy).mean()


def energy_g(fake_energy: Tensor) -> Tensor:
    """EBGAN's generator loss E[D(G(z))] (Zhao et al. 2017, eq. 2)."""
    return fake_energy.mean()


def pulling_away(codes: Tensor) -> Tensor:
    """EBGAN's pulling-away term on a batch of encoder codes S (B, d), B >= 2 (sec. 2.4):

        f_PT(S) = 1 / (B (B - 1)) sum_{i != j} (S_i . S_j / (||S_i|| ||S_j||))^2
    """
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"the pulling-away term needs a batch of at least 2; got {n}")
    unit = F.normalize(codes.flatten(1), dim=1, eps=COSINE_EPS)
    cos2 = (unit @ unit.T).square()
    # The diagonal is 1 (or 0 for a zero code): drop it exactly rather than subtract n.
    off = cos2.sum() - cos2.diagonal().sum()
    return off / (n * (n - 1))


def magan_margin(margin: Tensor, real_sum: Tensor, fake_sum: Tensor, prev_fake_sum: Tensor,
                 count: Tensor | int) -> Tensor:
    """MAGAN's end-of-epoch margin update (Wang et al. 2017, Algorithm 1, as we read it):

        m <- E_real = S_real / N   if  E_real < m  and  S_real < S_fake  and  S_fake_prev <= S_fake
        m <- m                      otherwise

    S_real, S_fake: the epoch's sums of real and fake energies (N samples each); S_fake_prev the
    previous epoch's S_fake (+inf before the first), so the margin only moves down, to the real
    energy, once the fake energy has stopped falling. Tensors in, tensor out (no host sync).
    """
    real_mean = real_sum / count
    update = (real_mean < margin) & (real_sum < fake_sum) & (prev_fake_sum <= fake_sum)
    return torch.where(update, real_mean, margin)


# --- IPM critics (Fisher GAN, McGAN, Cramér GAN) -------------------------------------------

def ipm_generator(f_fake: Tensor) -> Tensor:
    """Generator loss of a scalar-critic IPM: -E[f(G(z))] (Fisher GAN's Algorithm 1)."""
    return -f_fake.mean()


def fisher_terms(f_real: Tensor, f_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Fisher GAN's empirical IPM and second moment (Mroueh & Sercu 2017, eq. 8):

        E^ = E[f(x)] - E[f(G(z))],   Omega^ = 0.5 (E[f(x)^2] + E[f(G(z))^2])
    """
    ipm = f_real.mean() - f_fake.mean()
    omega = 0.5 * (f_real.square().mean() + f_fake.square().mean())
    return ipm, omega


def fisher_critic(ipm: Tensor, omega: Tensor, lam: Tensor | float, rho: float) -> Tensor:
    """Fisher GAN's critic loss, the negated augmented Lagrangian (eq. 9):

        -L_F = -(E^ + lambda (1 - Omega^) - rho/2 (1 - Omega^)^2)
    """
    constraint = 1 - omega
    return -(ipm + lam * constraint - 0.5 * rho * constraint.square())


def fisher_lambda(lam: Tensor | float, omega: Tensor, rho: float) -> Tensor:
    """Fisher GAN's multiplier step after each critic step (Algorithm 1):
    lambda <- lambda - rho * dL_F/dlambda = lambda - rho (1 - Omega^)."""
    return torch.as_tensor(lam, dtype=omega.dtype, device=omega.device) - rho * (1 - omega)


def mean_feature_distance(phi_real: Tensor, phi_fake: Tensor, q: float = 2.0) -> Tensor:
    """McGAN's mean-matching IPM in its primal form (Mroueh et al. 2017, sec. 3):

        ||mu(P) - mu(Q)||_q,  mu = E[phi]

    (= max over ||v||_p <= 1 of <v, mu(P) - mu(Q)>, p the dual of q).
    """
    return torch.linalg.vector_norm(phi_real.mean(0) - phi_fake.mean(0), ord=q)


def covariance_feature_distance(phi_real: Tensor, phi_fake: Tensor, rank: int) -> Tensor:
    """McGAN's covariance-matching IPM in its primal form (Mroueh et al. 2017, sec. 4):

        || [Sigma(P) - Sigma(Q)]_k ||_*  = sum of the k largest singular values,
        Sigma = E[phi phi^T]  (uncentred, as the paper defines it)

    (= max over U, V in O(d, k) of Tr(U^T (Sigma(P) - Sigma(Q)) V)). svdvals' gradients are
    numerically stable, unlike the full SVD's.
    """
    sigma_p = phi_real.T @ phi_real / phi_real.shape[0]
    sigma_q = phi_fake.T @ phi_fake / phi_fake.shape[0]
    return torch.linalg.svdvals(sigma_p - sigma_q)[:rank].sum()


def cramer_critic(h: Tensor, h_ref: Tensor) -> Tensor:
    """Cramér GAN's critic, per sample (Bellemare et al. 2017, Algorithm 1):

        f(x) = ||h(x) - h(x'_g)||_2 - ||h(x)||_2,   x'_g the second generated batch, paired by row
    """
    return (torch.linalg.vector_norm(h - h_ref, dim=1)
            - torch.linalg.vector_norm(h, dim=1))


def cramer_d(f_real: Tensor, f_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Cramér GAN's critic loss -L_surrogate = -(E[f(x_r)] - E[f(x_g)]), as (real, fake)."""
    return -f_real.mean(), f_fake.mean()


def cramer_generator(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor) -> Tensor:
    """Cramér GAN's generator loss, the energy distance in h-space (Algorithm 1):

        E||h(x_r) - h(x_g)|| + E||h(x_r) - h(x'_g)|| - E||h(x_g) - h(x'_g)||
    """
    def dist(a: Tensor, b: Tensor) -> Tensor:
        return torch.linalg.vector_norm(a - b, dim=1).mean()

    return dist(h_real, h_fake) + dist(h_real, h_fake2) - dist(h_fake, h_fake2)


# --- kernels and MMD (MMD GAN, GMMN) -------------------------------------------------------

def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """(n, m) matrix of ||x_i - y_j||^2 over flattened samples, clamped at 0 (the expansion
    ||x||^2 + ||y||^2 - 2 x.y can round below it)."""
    x, y = x.flatten(1), y.flatten(1)
    d = x.square().sum(1, keepdim=True) + y.square().sum(1) - 2 * x @ y.T
    return d.clamp_min(0)


def rbf_kernel(x: Tensor, y: Tensor, variances: Sequence[float]) -> Tensor:
    """Mixture of Gaussian kernels: k(x, y) = sum_s exp(-||x - y||^2 / (2 s)), s a variance."""
    d = squared_distances(x, y)
    return sum(torch.exp(-d / (2 * s)) for s in variances)  # type: ignore[return-value]


def rq_kernel(x: Tensor, y: Tensor, alphas: Sequence[float] = RQ_ALPHAS) -> Tensor:
    """Mixture of rational-quadratic kernels (Binkowski et al. 2018):
    k(x, y) = sum_a (1 + ||x - y||^2 / (2 a))^(-a)."""
    d = squared_distances(x, y)
    return sum((1 + d / (2 * a)).pow(-a) for a in alphas)  # type: ignore[return-value]


def linear_kernel(x: Tensor, y: Tensor) -> Tensor:
    """k(x, y) = x . y (Binkowski et al.'s "rq*" adds it to the RQ mixture)."""
    return x.flatten(1) @ y.flatten(1).T


def mmd2_unbiased(k_xx: Tensor, k_xy: Tensor, k_yy: Tensor) -> Tensor:
    """Unbiased MMD^2 estimate from kernel matrices (Gretton et al. 2012, Lemma 6):

        sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
        - 2 sum_{i, j} k(x_i, y_j) / (n m)

    n, m >= 2. Can be negative (it estimates a non-negative quantity without bias).
    """
    n, m = k_xx.shape[0], k_yy.shape[0]
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return xx + yy - 2 * k_xy.mean()


def mmd2_biased(k_xx: Tensor, k_xy: Tensor, k_yy: Tensor) -> Tensor:
    """Biased (V-statistic) MMD^2 = ||mean phi(x) - mean phi(y)||^2 in feature space:
    E[k(x, x')] + E[k(y, y')] - 2 E[k(x, y)] over all pairs, diagonals included; >= 0 for a
    positive-definite kernel (up to rounding). GMMN's loss (Li et al. 2015, eq. 3)."""
    return k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()


def mmd_witness(k_at_real: Tensor, k_at_fake: Tensor) -> Tensor:
    """The MMD witness function at points v, up to scale (Binkowski et al. 2018, sec. 4):

        w(v) = mean_i k(v, x_i) - mean_j k(v, y_j),   k_at_real = k(v, x) of shape (B_v, n)
    """
    return k_at_real.mean(1) - k_at_fake.mean(1)
