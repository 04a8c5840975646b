"""Mode coverage and sample quality on the 2-D Gaussian-mixture toys (ring8, grid25).

The protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): a generated
sample is *high quality* if it lies within ``n_std`` (3) standard deviations of its nearest
mode; a mode is *covered* if at least one high-quality sample has it as nearest mode. This is
what PacGAN's released code computes (``MetricLogger``: strict ``<`` threshold, a mode counts
once it has one high-quality sample); ``min_count`` > 1 gives the stricter variants of other
papers (e.g. a mode needs that many samples to count), without changing the default.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

__all__ = ["mode_metrics"]


def _points(x: Tensor | ArrayLike, which: str) -> Tensor:
    t = x.detach() if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    t = t.to("cpu", torch.float64)
    if t.ndim != 2:
        raise ValueError(f"{which} must be a (n, d) array of points, got shape {tuple(t.shape)}")
    return t


def mode_metrics(
    samples: Tensor | ArrayLike,
    modes: Tensor | ArrayLike,
    std: float,
    n_std: float = 3.0,
    min_count: int = 1,
) -> dict[str, float | int]:
    """{"modes_covered": int, "high_quality": fraction in [0, 1]} of ``samples`` (n, d).

    high quality:  min_j ‖x - μ_j‖ < n_std · std   (isotropic modes of equal ``std``)
    modes_covered = #{j : #{high-quality x with nearest mode j} ≥ min_count}

    Non-finite samples (a diverged generator) are never high quality.
    """
    x = _points(samples, "samples")
    mu = _points(modes, "modes")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples are {x.shape[1]}-D but modes are {mu.shape[1]}-D")
    if mu.shape[0] < 1 or x.shape[0] < 1:
        raise ValueError(f"need at least one mode and one sample, got {mu.shape[0]} and {x.shape[0]}")
    if not std > 0 or not n_std > 0:
        raise ValueError(f"std and n_std must be positive, got {std} and {n_std}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    # Direct differences rather than cdist's |x|²+|μ|²-2xᵀμ: exact up to one rounding, so
    # points placed by hand at k·std from a mode land on the side they were put on.
    dist = (x[:, None, :] - mu[None, :, :]).norm(dim=-1)  # (n, modes): tiny for 2-D toys
    dist = torch.nan_to_num(dist, nan=torch.inf)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist < n_std * std
    counts = torch.bincount(nearest[hq], minlength=mu.shape[0])
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "high_quality": float(hq.double().mean()),
    }
