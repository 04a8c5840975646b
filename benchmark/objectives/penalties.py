"""Penalties on the discriminator (Kurach et al. 2019's "regularization" axis) and their parts.

A penalty term is a pure function `term(D, real, fake) -> Tensor`, the unweighted regulariser;
the objective adds `weight * term` to D's loss. A `penalty=` config (conf/penalty/*.yaml) names
one term and its default weight:

    wgan_gp   E[(||grad D(x^)|| - 1)^2], x^ between real and fake        (Gulrajani et al. 2017)
    dragan    E[(||grad sigma(D(x^))|| - 1)^2], x^ around the data        (Kodali et al. 2017)
    r1        1/2 E||grad_x D(x)||^2 on real data, weight gamma            (Mescheder et al. 2018)
    l2        mean over D's weight layers of 1/2 ||W||^2 (weight decay)    (Kurach et al. 2019)

Random draws (alpha, DRAGAN's noise) use torch's global RNG on the data's device, which the
training loop seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

# compare_gan's WGAN_GP.py and DRAGAN.py both take slopes = sqrt(1e-4 + sum(grad^2)).
STUDY_NORM_EPS = 1e-4
# The layers whose weights (not biases) the L2 penalty decays: compare_gan v3 penalises every
# "kernel" of D (fully connected, conv and deconv layers).
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
             nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def gradient_penalty(D: Callable[[Tensor], Tensor], points: Tensor, eps: float = 0.0) -> Tensor:
    """Two-sided gradient-norm penalty E[(sqrt(eps + ||grad_v D(v)||^2) - 1)^2] at v = points.

    The norm runs over all non-batch dims, per sample. The graph of the gradient is kept
    (create_graph) so the penalty itself trains D. `eps` > 0 keeps the sqrt differentiable
    where the gradient vanishes (compare_gan uses 1e-4 in both WGAN-GP and DRAGAN).
    """
    # Detach: the penalty must not reach G through fake points, only D.
    points = points.detach().requires_grad_(True)
    out = D(points)
    # D's outputs are per sample, so the gradient of their sum is each output's own gradient
    # (up to batch-norm coupling, which the study's D has too).
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=True)
    if eps > 0:
        norm = torch.sqrt(eps + grad.flatten(1).square().sum(1))
    else:
        # vector_norm has a finite (zero) subgradient at 0, where sqrt(0) would give NaN.
        norm = torch.linalg.vector_norm(grad.flatten(1), dim=1)
    return (norm - 1).square().mean()


def _per_sample(alpha: Tensor, like: Tensor) -> Tensor:
    """(B,) -> (B, 1, ..., 1), to broadcast over the sample dims of `like`."""
    return alpha.reshape(-1, *([1] * (like.dim() - 1)))


def interpolate(real: Tensor, other: Tensor, alpha: Tensor | None = None) -> Tensor:
    """real + alpha * (other - real), one alpha ~ U[0, 1] per sample (or the given (B,) alpha).

    WGAN-GP: other = G(z) (equals alpha' * x + (1 - alpha') * G(z) with alpha' = 1 - alpha,
    the same distribution); DRAGAN: other = its perturbed batch. This form is compare_gan's.
    """
    if alpha is None:
        alpha = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
    return real + _per_sample(alpha, real) * (other - real)


def dragan_perturb(real: Tensor) -> Tensor:
    """DRAGAN's perturbed batch, as compare_gan DRAGAN.py (`get_perturbed_batch`):

        x_p = x + 0.5 * std(x) * U[0, 1)

    std over the whole batch (all elements, population std as numpy's), noise per element.
    (Note the noise is one-sided, in [0, 0.5 std), as in the study's code.)
    """
    std = real.std(correction=0)
    return real + 0.5 * std * torch.rand_like(real)


def wgan_gp(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP's term (compare_gan WGAN_GP.py): E[(sqrt(1e-4 + ||grad D(x^)||^2) - 1)^2],
    x^ = x + alpha (G(z) - x), alpha ~ U[0, 1] per sample; gradient of D's raw output."""
    return gradient_penalty(D, interpolate(real, fake), eps=STUDY_NORM_EPS)


def dragan(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """DRAGAN's term as the study's code (compare_gan v1 DRAGAN.py):
    E[(sqrt(1e-4 + ||grad sigma(D(x^))||^2) - 1)^2], x^ = x + alpha (x_p - x), alpha ~ U[0, 1]
    per sample, x_p = `dragan_perturb(x)`. `fake` is unused: the penalty lives around the data.

    The gradient is of D's sigmoid output, as in the study's code and the paper's formula (whose
    D is a probability). compare_gan v3, which Kurach et al. ran, differentiates the logits of
    x + std(x) (U[0, 1) - 1/2) clipped to [0, 1] instead; that variant is not implemented.
    """
    points = interpolate(real, dragan_perturb(real))
    return gradient_penalty(lambda v: torch.sigmoid(D(v)), points, eps=STUDY_NORM_EPS)


def r1(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): 1/2 E[||grad_x D(x)||^2] on real data only, of D's raw output
    (the logits), norm over all non-batch dims; with weight gamma it is gamma/2 E||grad D(x)||^2.
    Zero-centred: no target slope, so it pulls D towards flatness on the data."""
    x = real.detach().requires_grad_(True)
    # The sum's gradient is each output's own (per-sample outputs), as in `gradient_penalty`.
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return 0.5 * grad.flatten(1).square().sum(1).mean()


def l2(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """L2 penalty of Kurach et al. 2019 (compare_gan v3 penalty_lib.l2_penalty): the mean over
    D's Conv/ConvTranspose/Linear layers of 1/2 ||W||^2 (tf.nn.l2_loss), biases and norm
    parameters excluded. Under spectral norm it decays the raw weight that trains (the
    parametrization's `original`), as compare_gan's kernel variable. `real`, `fake` unused."""
    terms = []
    for m in D.modules():
        if isinstance(m, _WEIGHTED):
            w = (m.parametrizations.weight.original if parametrize.is_parametrized(m, "weight")
                 else m.weight)
            terms.append(0.5 * w.square().sum())
    if not terms:
        raise ValueError("the l2 penalty found no Linear or conv layer in D")
    return torch.stack(terms).mean()
