"""Gradient penalties (WGAN-GP, DRAGAN) and the points they are evaluated at.

Random draws (alpha, DRAGAN's noise) use torch's global RNG on the data's device, which the
training loop seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


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
