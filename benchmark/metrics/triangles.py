"""Precision, recall and F1 on the triangles data set, where the data manifold is known (the study's section 5).

Distances are squared L2 over the pixels of images in [0, 1] (784 pixels at 28x28).

* **Precision**: the fraction of generated samples within ``delta`` of the triangle manifold,
  the set of images the data generator can produce: triangles inscribed in the circle of radius
  ``scale``·dim/2, centre of mass at the raster centre, neighbouring vertices between
  ``min_segment_angle``/2 and 2·360/k - ``min_segment_angle``/2 degrees apart (the notebook's
  sectors allow exactly these gaps; which sector a vertex came from is not checked).
  A sample's distance is found by fitting the closest triangle: the nearest of ``bank`` images
  sampled from the data generator (fixed seed) starts ``fit_steps`` Adam steps on the
  rotation and the vertex gaps through a differentiable rasteriser
  (:func:`~benchmark.data.triangles.rasterize_soft`; gaps projected back onto their allowed
  range after each step); the distance is that of the exact image of the best triangle seen
  (bank or fit), so it is on the manifold and the distance an upper bound on the true one.
  Data triangles refit to below 0.7 (median 0.01).
* **Recall**: the fraction of the first ``n_recall`` hold-out triangles x with
  min_z ||G(z) - x||² < ``delta``. z: the ``restarts`` nearest of ``pool`` latent samples (drawn
  from the prior with a fixed seed) start ``steps`` Adam steps (lr ``lr``) on ||G(z) - x||²,
  all targets and restarts in one batch; a uniform latent is clipped back to [-1, 1] after each
  step. The minimum over the pool, every step and every restart counts.
* **F1**: 2PR / (P + R), 0 when both are 0.

delta = 4.0: about the distance between a triangle and the same triangle moved by 0.4 pixel
(anti-aliased edges: half a pixel gives 1.3 to 8, median 5), below a 3x3 box blur of a data
triangle (~5), above pixel noise of std 0.05 (~1), and well below the distance of a blank image
to the nearest manifold triangle (9.6), so an empty canvas is never "precise". Defaults
(``n_precision`` 256, ``n_recall`` 64, 2 restarts x 50 steps from a pool of 2,048): about 10 s
of one CPU core per evaluation with the study's full-width 28x28 InfoGAN generator (fitting
~2.5 s, inverting ~7 s), plus ~2 s once per process for the bank.

The random draws (bank, pool) come from their own generators: an evaluation never moves the
training RNG, so a resumed run stays bitwise identical.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.data.triangles import (
    TriangleGeometry,
    polygon_vertices,
    rasterize,
    rasterize_soft,
    sample_angles,
)

__all__ = [
    "DELTA",
    "TriangleSettings",
    "f1_score",
    "fit_triangles",
    "invert",
    "project_gaps",
    "triangle_scores",
]

DELTA = 4.0


@dataclass(frozen=True)
class TriangleSettings:
    """The metric's protocol: threshold and budgets (``eval.options.triangles`` in the config)."""

    delta: float = DELTA
    n_precision: int = 256  # generated samples fitted (the first of the evaluation's draw)
    n_recall: int = 64      # hold-out triangles inverted (the first of the split)
    bank: int = 16384       # generator images searched for starting points
    fit_candidates: int = 1
    fit_steps: int = 30
    fit_rows: int = 4       # rows per pixel of the differentiable rasteriser while fitting
    fit_lr: float = 0.02    # radians
    pool: int = 2048        # latent samples searched for starting points
    restarts: int = 2
    steps: int = 50
    lr: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_precision", "n_recall", "bank", "fit_candidates", "fit_rows", "pool",
                     "restarts"):
            if getattr(self, name) < 1:
                raise ValueError(f"triangles option {name} must be >= 1, got {getattr(self, name)}")
        for name in ("fit_steps", "steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"triangles option {name} must be >= 0, got {getattr(self, name)}")
        if not self.delta > 0:
            raise ValueError(f"triangles option delta must be > 0, got {self.delta}")
        if self.fit_candidates > self.bank or self.restarts > self.pool:
            raise ValueError("triangles options: fit_candidates must be <= bank and restarts <= pool")

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> TriangleSettings:
        options = dict(options or {})
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - valid)
        if unknown:
            raise ValueError(f"unknown triangles options {unknown}; valid: {sorted(valid)}")
        return cls(**options)

    def protocol(self) -> dict[str, Any]:
        """The fields a metrics row records with the scores."""
        return {"triangles_delta": self.delta, "triangles_n_precision": self.n_precision,
                "triangles_n_recall": self.n_recall,
                "triangles_budget": f"fit {self.fit_candidates}x{self.fit_steps}, "
                                    f"invert {self.restarts}x{self.steps} of {self.pool}"}


def _sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """(n, m) squared L2 distances between the rows of a (n, D) and b (m, D)."""
    return torch.cdist(a.double(), b.double()).square()


# --- precision: distance to the manifold ---------------------------------------------------------


def project_gaps(gaps: Tensor, geometry: TriangleGeometry, iters: int = 60) -> Tensor:
    """Euclidean projection of ``gaps`` (B, k) onto {g : lo <= g_i <= hi, sum g = 2π}.

    The projection is clip(g - τ, lo, hi) for the scalar τ that makes the sum 2π (monotone in
    τ), found by bisection.
    """
    lo, hi = geometry.gap_range
    a = (gaps.amin(dim=1) - hi).detach()
    b = (gaps.amax(dim=1) - lo).detach()
    for _ in range(iters):
        tau = (a + b) / 2
        too_big = (gaps - tau[:, None]).clamp(lo, hi).sum(dim=1) > 2 * math.pi
        a = torch.where(too_big, tau, a)
        b = torch.where(too_big, b, tau)
    return (gaps - ((a + b) / 2)[:, None]).clamp(lo, hi)


def _angles(rho: Tensor, gaps: Tensor) -> Tensor:
    # Vertex i sits at rho + g_0 + ... + g_{i-1}; the last gap closes the circle.
    return rho[:, None] + torch.cumsum(gaps, dim=1) - gaps


@functools.lru_cache(maxsize=4)
def _bank(geometry: TriangleGeometry, size: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """(rho (size,), gaps (size, k), exact images (size, D)) sampled as the data generator does."""
    deg, theta = sample_angles(size, geometry, np.random.RandomState(seed))
    angles = torch.from_numpy(np.radians(deg) - theta[:, None])  # the rotation turns by -theta
    gaps = torch.diff(angles, dim=1, append=angles[:, :1] + 2 * math.pi)
    images = rasterize(polygon_vertices(angles, geometry), geometry).flatten(1).float()
    return angles[:, 0], gaps, images


def fit_triangles(x: Tensor, geometry: TriangleGeometry,
                  settings: TriangleSettings = TriangleSettings()) -> tuple[Tensor, Tensor]:
    """(squared distance (B,), vertex angles (B, k)) of the closest manifold triangle found for
    each image of ``x`` (B, dim, dim) in [0, 1]; non-finite images get distance inf."""
    dim = geometry.raster_dim
    x = x.detach().reshape(-1, dim * dim).to("cpu", torch.float32)
    finite = torch.isfinite(x).all(dim=1)
    x = torch.where(finite[:, None], x, torch.ones_like(x))
    rho_bank, gaps_bank, images_bank = _bank(geometry, settings.bank, settings.seed)
    d_bank = _sq_dists(x, images_bank)
    c = settings.fit_candidates
    nearest = d_bank.topk(c, dim=1, largest=False).indices.flatten()  # (B*c,)
    # float32 while fitting: the exact distance at the end is in float64.
    rho = rho_bank[nearest].float().requires_grad_(True)
    gaps = gaps_bank[nearest].float().requires_grad_(True)
    target = x.repeat_interleave(c, dim=0).reshape(-1, dim, dim)
    opt = torch.optim.Adam([rho, gaps], lr=settings.fit_lr)
    with torch.enable_grad():
        for _ in range(settings.fit_steps):
            image = rasterize_soft(polygon_vertices(_angles(rho, gaps), geometry), geometry,
                                   settings.fit_rows)
            loss = (image - target).square().sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                gaps.copy_(project_gaps(gaps, geometry))
    with torch.no_grad():
        angles = _angles(rho, gaps).detach()
        exact = rasterize(polygon_vertices(angles.double(), geometry), geometry)
        d_fit = (exact - target.double()).square().flatten(1).sum(dim=1).reshape(-1, c)
        best = d_fit.argmin(dim=1)
        dist = d_fit.gather(1, best[:, None])[:, 0]
        angles = angles.reshape(-1, c, angles.shape[-1])[torch.arange(len(best)), best]
        # The bank images are on the manifold too: a fit never ends worse than its start.
        bank_best = d_bank.min(dim=1)
        worse = bank_best.values < dist
        dist = torch.where(worse, bank_best.values, dist)
        bank_angles = _angles(rho_bank, gaps_bank)[bank_best.indices]
        angles = torch.where(worse[:, None], bank_angles, angles.double())
    dist = torch.where(finite, dist, torch.full_like(dist, math.inf))
    return dist, angles


# --- recall: inverting the generator -------------------------------------------------------------


def _prior(n: int, z_dim: int, latent: str, gen: torch.Generator, device: torch.device) -> Tensor:
    if latent == "uniform":
        return torch.rand(n, z_dim, generator=gen, device=device) * 2 - 1
    if latent == "normal":
        return torch.randn(n, z_dim, generator=gen, device=device)
    raise ValueError(f"unknown latent {latent!r}; expected uniform or normal")


def invert(generator: Callable[[Tensor], Tensor], targets: Tensor, z_dim: int, latent: str,
           settings: TriangleSettings = TriangleSettings(),
           device: str | torch.device = "cpu") -> Tensor:
    """min_z ||generator(z) - x||² found for each target x (n, ...): (n,) squared distances.

    Gradients are taken with respect to z only (``torch.autograd.grad``), so the generator's
    parameters and their ``.grad`` stay untouched; its train/eval mode is the caller's.
    """
    device = torch.device(device)
    n = targets.shape[0]
    flat = targets.reshape(n, -1).to(device, torch.float32)
    gen = torch.Generator(device=device).manual_seed(settings.seed)
    pool = _prior(settings.pool, z_dim, latent, gen, device)
    with torch.no_grad():
        out = torch.cat([generator(z).reshape(z.shape[0], -1).float()
                         for z in pool.split(max(n * settings.restarts, 256))])
        d_pool = _sq_dists(flat, out).nan_to_num_(math.inf)
    r = settings.restarts
    start = d_pool.topk(r, dim=1, largest=False)
    best = start.values[:, 0].clone()
    z = pool[start.indices.flatten()].clone().requires_grad_(True)
    target = flat.repeat_interleave(r, dim=0)
    opt = torch.optim.Adam([z], lr=settings.lr)

    def distances() -> Tensor:
        return (generator(z).reshape(z.shape[0], -1) - target).square().sum(dim=1)

    with torch.enable_grad():
        for _ in range(settings.steps):
            d = distances()
            best = torch.minimum(best, d.detach().double().nan_to_num(math.inf).reshape(n, r).amin(dim=1))
            (z.grad,) = torch.autograd.grad(d.sum(), [z])
            opt.step()
            if latent == "uniform":
                with torch.no_grad():
                    z.clamp_(-1.0, 1.0)
    with torch.no_grad():
        d = distances().double().nan_to_num(math.inf).reshape(n, r).amin(dim=1)
    return torch.minimum(best, d).cpu()


# --- scores --------------------------------------------------------------------------------------


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def triangle_scores(samples: Tensor, holdout: Tensor, geometry: TriangleGeometry,
                    generator: Callable[[Tensor], Tensor], z_dim: int, latent: str,
                    settings: TriangleSettings = TriangleSettings(),
                    device: str | torch.device = "cpu") -> dict[str, float]:
    """{"precision", "recall", "f1"} of a generator from its ``samples`` (n, 1, dim, dim) and by
    inverting it on the ``holdout`` triangles (uint8 or float in [0, 1])."""
    fitted, _ = fit_triangles(samples[: settings.n_precision], geometry, settings)
    targets = holdout[: settings.n_recall]
    if targets.dtype == torch.uint8:
        targets = targets.float() / 255.0
    inverted = invert(generator, targets, z_dim, latent, settings, device)
    precision = float((fitted < settings.delta).double().mean())
    recall = float((inverted < settings.delta).double().mean())
    return {"precision": precision, "recall": recall, "f1": f1_score(precision, recall)}
