"""Triangles: the study's synthetic benchmark with a known data manifold (Lucic et al. 2018, section 5).

Gray-scale convex polygons (``n_vertices=3``) on a 28x28 raster, generated as in the study's
notebook: the circle is split into ``n_vertices`` sectors of 360/n degrees and one vertex is drawn
per sector, uniformly in [i·seg + min_angle/2, (i+1)·seg] degrees, so that neighbouring vertices
are at least ``min_segment_angle``/2 apart; the vertices on the unit circle are mapped to [0, 1]²,
rotated (by ``radians(U·2π)``: under 2π *degrees*, the notebook's own quirk, kept), scaled to
``scale`` of the raster and shifted so that their centre of mass sits at the raster centre.
Each pixel is the fraction of its ``subpixel`` x ``subpixel`` sample points outside the polygon
(matplotlib ``Path.contains_points`` on the sample grid, then a box filter): white background
(1), dark polygon (0), anti-aliased edges. The random stream is the notebook's: one
``RandomState(seed)``, per polygon ``n_vertices`` angle draws then the rotation, then a
permutation of the whole set.

Rasterising polygon by polygon with matplotlib takes minutes for 80,000 images; here a convex
polygon's cross-section of each row of sample points is an interval, so the points inside are
counted per pixel with integer arithmetic, all polygons at once: the same counts as the point
tests (``tests/data/test_triangles.py`` checks them against ``contains_points``), in seconds.
The set is generated once and cached as ``.npz`` under ``$GANBENCH_CACHE/datasets``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from benchmark.data.base import Data
from benchmark.metrics.cache import cache_dir, cache_key, compute_once

__all__ = [
    "TriangleGeometry",
    "TrianglesData",
    "generate",
    "polygon_vertices",
    "rasterize",
    "rasterize_soft",
    "sample_angles",
    "split_sizes",
    "triangles",
]

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1  # bump when the generated images change: part of the cache key
CHUNK = 2048  # polygons rasterised at once (bounds memory: CHUNK x rows x columns counts)


@dataclass(frozen=True)
class TriangleGeometry:
    """What defines the polygon distribution (the notebook's arguments)."""

    raster_dim: int = 28
    scale: float = 0.75
    subpixel: int = 8
    n_vertices: int = 3
    min_segment_angle: float = 20.0  # degrees

    def __post_init__(self) -> None:
        if self.n_vertices < 3:
            raise ValueError(f"n_vertices must be >= 3, got {self.n_vertices}")
        if not 0 <= self.min_segment_angle <= 360.0 / self.n_vertices:
            raise ValueError(f"min_segment_angle must be in [0, {360.0 / self.n_vertices:g}], "
                             f"got {self.min_segment_angle}")
        if not 0 < self.scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")
        if self.raster_dim < 4 or self.raster_dim % 4:
            raise ValueError(f"raster_dim must be a multiple of 4 (networks downsample by 4), "
                             f"got {self.raster_dim}")
        if self.subpixel < 1:
            raise ValueError(f"subpixel must be >= 1, got {self.subpixel}")

    @property
    def radius(self) -> float:
        """Circumradius of the polygons in pixels (unit circle → [0, 1]² → ``scale`` x raster)."""
        return self.raster_dim * self.scale / 2

    @property
    def gap_range(self) -> tuple[float, float]:
        """(min, max) angle in radians between neighbouring vertices that the sectors allow."""
        seg = 360.0 / self.n_vertices
        half = self.min_segment_angle / 2
        return math.radians(half), math.radians(2 * seg - half)

    def fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(eq=False)
class TrianglesData(Data):
    """:class:`Data` with a hold-out split (recall's targets) and its geometry, offered to the
    metrics as the known manifold (precision)."""

    geometry: TriangleGeometry = field(default_factory=TriangleGeometry)

    @property
    def manifold(self) -> TriangleGeometry:
        return self.geometry

    def to(self, device: torch.device | str) -> TrianglesData:
        base = super().to(device)  # the splits, hold-out included, and the digest
        kept = {f.name: getattr(base, f.name) for f in dataclasses.fields(Data) if f.init}
        moved = TrianglesData(**kept, geometry=self.geometry)
        moved._fingerprint = base._fingerprint
        return moved


# --- sampling ------------------------------------------------------------------------------------


def sample_angles(n: int, geometry: TriangleGeometry,
                  rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """(vertex angles (n, k) in degrees, rotations (n,) in radians), drawn as the notebook does.

    The notebook calls ``np.random.rand()`` k times for the angles then once for the rotation,
    polygon after polygon: one (n, k+1) draw reads the same stream.
    """
    k = geometry.n_vertices
    seg = 360.0 / k
    u = rng.rand(n, k + 1)
    angles = np.arange(k) * seg + geometry.min_segment_angle / 2 + u[:, :k] * (
        seg - geometry.min_segment_angle / 2)
    theta = np.radians(u[:, k] * 2 * np.pi)  # the notebook's radians(2π·U): under 6.3 degrees
    return angles, theta


def polygon_vertices(angles: Tensor, geometry: TriangleGeometry) -> Tensor:
    """Vertices (..., k, 2) in pixel units of polygons with vertex ``angles`` (..., k) in radians
    on the circumcircle, centre of mass at the raster centre. Differentiable in ``angles``."""
    unit = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    v = geometry.radius * unit
    return v - v.mean(dim=-2, keepdim=True) + geometry.raster_dim / 2


def _notebook_vertices(angles_deg: np.ndarray, theta: np.ndarray,
                       geometry: TriangleGeometry) -> np.ndarray:
    rad = np.radians(angles_deg)
    x = (np.stack([np.cos(rad), np.sin(rad)], axis=-1) + 1.0) / 2.0  # unit circle → [0, 1]²
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    # Row vectors times [[c, -s], [s, c]], as the notebook's np.dot(x, rot).
    x = np.stack([x[..., 0] * c + x[..., 1] * s, -x[..., 0] * s + x[..., 1] * c], axis=-1)
    v = x * (geometry.raster_dim * geometry.scale)
    return v + geometry.raster_dim / 2.0 - v.mean(axis=1, keepdims=True)


# --- rasterisation -------------------------------------------------------------------------------


def _sample_offsets(r: int) -> tuple[int, int]:
    # The notebook box-filters the subpixel mask with scipy.ndimage.convolve(ones((r, r))) and
    # keeps every r-th value: pixel p averages subpixels p·r + k for k in [r//2 - r + 1, r//2].
    return r // 2 - r + 1, r // 2


def _cross_sections(v: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
    """(lo, hi), each (n, m): the y-interval of convex polygons ``v`` (n, k, 2) on the lines
    x = rows (m,); lo > hi where a line misses the polygon."""
    p, q = v, v.roll(-1, dims=1)
    px, py = p[..., 0, None], p[..., 1, None]
    dx, dy = (q - p)[..., 0, None], (q - p)[..., 1, None]
    vertical = dx == 0
    t = (rows - px) / torch.where(vertical, torch.ones_like(dx), dx)  # (n, k, m)
    hit = (t >= 0) & (t <= 1) & ~vertical
    y = py + t * dy
    inf = torch.tensor(math.inf, dtype=y.dtype, device=y.device)
    lo = torch.where(hit, y, inf).amin(dim=1)
    hi = torch.where(hit, y, -inf).amax(dim=1)
    return lo, hi


def _pixel_ranges(geometry: TriangleGeometry, dtype: torch.dtype,
                  device: torch.device) -> tuple[Tensor, Tensor]:
    # First and last subpixel sample index of each pixel, clipped to the sample grid (samples
    # outside it count as background, the notebook's cval=1).
    r, dim = geometry.subpixel, geometry.raster_dim
    k0, k1 = _sample_offsets(r)
    start = torch.arange(dim, dtype=dtype, device=device) * r + k0
    return start.clamp(min=0), (start + (k1 - k0)).clamp(max=dim * r - 1)


def _pool_rows(per_row: Tensor, geometry: TriangleGeometry) -> Tensor:
    """(n, dim·r, dim) per-sample-row values → (n, dim, dim) sums over each pixel's r rows."""
    r, dim = geometry.subpixel, geometry.raster_dim
    k0, _ = _sample_offsets(r)
    # Row a belongs to pixel (a - k0) // r: pad -k0 empty rows in front, cut, fold.
    padded = torch.nn.functional.pad(per_row, (0, 0, -k0, 0))[:, : dim * r]
    return padded.reshape(per_row.shape[0], dim, r, dim).sum(dim=2)


def rasterize(vertices: Tensor | np.ndarray, geometry: TriangleGeometry) -> Tensor:
    """Images (n, dim, dim) in [0, 1] of convex polygons with ``vertices`` (n, k, 2) in pixel units.

    Exactly the notebook's values: 1 - (sample points inside) / subpixel², with sample points at
    (a, b) / subpixel for integers a, b in [0, dim·subpixel); axis 0 of the image is x.
    """
    v = torch.as_tensor(vertices, dtype=torch.float64)
    r = geometry.subpixel
    rows = torch.arange(geometry.raster_dim * r, dtype=torch.float64)
    # Counts are small integers, exact in float32: half the memory traffic of float64.
    start, end = _pixel_ranges(geometry, torch.float32, v.device)
    out = []
    for chunk in v.split(CHUNK):
        lo, hi = _cross_sections(chunk * r, rows)
        first, last = torch.ceil(lo).float(), torch.floor(hi).float()
        inside = torch.minimum(last[..., None], end)  # (n, m, dim): points per row and pixel
        inside.sub_(torch.maximum(first[..., None], start)).add_(1).clamp_(min=0)
        out.append(1.0 - _pool_rows(inside, geometry).double() / (r * r))
    if not out:
        return torch.empty(0, geometry.raster_dim, geometry.raster_dim, dtype=torch.float64)
    return torch.cat(out)


def rasterize_soft(vertices: Tensor, geometry: TriangleGeometry,
                   rows_per_pixel: int | None = None) -> Tensor:
    """A differentiable stand-in for :func:`rasterize`, images (n, dim, dim).

    Along y each row's coverage of a pixel is the length of the polygon's interval within the
    pixel (not a count of sample points), so the images move smoothly with the vertices; along x
    the pixel is sampled at ``rows_per_pixel`` rows (default ``subpixel``: the exact rows; fewer
    is proportionally cheaper, for fitting). Every sample stands for ±1/2 sample spacing, so the
    pixel extents are those of the exact rasteriser.
    """
    r, dim = geometry.subpixel, geometry.raster_dim
    rp = r if rows_per_pixel is None else int(rows_per_pixel)
    k0, _ = _sample_offsets(r)
    dtype, device = vertices.dtype, vertices.device
    # In subpixel units pixel p spans [p·r + k0 - 1/2, p·r + k0 - 1/2 + r) along both axes.
    pixel = torch.arange(dim, dtype=dtype, device=device) * r + k0 - 0.5
    rows = (pixel[:, None] + (torch.arange(rp, dtype=dtype, device=device) + 0.5) * (r / rp)).flatten()
    on_grid = ((rows >= -0.5) & (rows <= dim * r - 0.5)).to(dtype)  # off-grid samples: background
    lo, hi = _cross_sections(vertices * r, rows)
    first = torch.maximum(lo[..., None], pixel.clamp(min=-0.5))
    last = torch.minimum(hi[..., None], (pixel + r).clamp(max=dim * r - 0.5))
    covered = (last - first).clamp(min=0) * on_grid[:, None]  # (n, dim·rp, dim)
    covered = covered.reshape(-1, dim, rp, dim).sum(dim=2) * (r / rp)
    return 1.0 - covered / (r * r)


# --- the data set --------------------------------------------------------------------------------


def split_sizes(n_images: int) -> tuple[int, int, int]:
    """(train, test, hold-out) sizes: the study's 60k/10k/10k of 80k, i.e. 3/4, 1/8, 1/8."""
    if n_images < 16:
        raise ValueError(f"n_images must be >= 16, got {n_images}")
    n_test = n_images // 8
    return n_images - 2 * n_test, n_test, n_test


def generate(n_images: int, geometry: TriangleGeometry, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, dim, dim) uint8 (round(255 v) of the values v in [0, 1]), vertices (n, k, 2)),
    in the notebook's order."""
    rng = np.random.RandomState(seed)
    angles, theta = sample_angles(n_images, geometry, rng)
    vertices = _notebook_vertices(angles, theta, geometry)
    # uint8 chunk by chunk: 80k float64 images would take 500 MB.
    images = np.concatenate(
        [_to_uint8(rasterize(vertices[i : i + CHUNK], geometry).numpy())
         for i in range(0, n_images, CHUNK)])
    order = rng.permutation(n_images)
    return images[order], vertices[order]


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.rint(images * 255.0).astype(np.uint8)


def _save(arrays: dict[str, np.ndarray], path: Path) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to the temp name
        np.savez_compressed(f, **arrays)


def triangles(
    n_images: int = 80_000,
    seed: int = 0,
    raster_dim: int = 28,
    scale: float = 0.75,
    subpixel: int = 8,
    n_vertices: int = 3,
    min_segment_angle: float = 20.0,
    *,
    name: str = "triangles",
) -> TrianglesData:
    """The triangles data set as uint8 (N, 1, dim, dim): the first 3/4 of the generated images
    train, the next 1/8 test (the FID reference), the last 1/8 hold-out (recall). Unlabelled."""
    geometry = TriangleGeometry(raster_dim, scale, subpixel, n_vertices, min_segment_angle)
    n_train, n_test, _ = split_sizes(n_images)
    fields = {"kind": "triangles", "version": GENERATOR_VERSION, "n_images": int(n_images),
              "seed": int(seed), **geometry.fields()}
    path = cache_dir() / "datasets" / f"{name}-{cache_key(fields)}.npz"
    expected = (n_images, raster_dim, raster_dim)

    def compute() -> dict[str, np.ndarray]:
        images, vertices = generate(n_images, geometry, seed)
        return {"images": images, "vertices": vertices}

    def load(p: Path) -> dict[str, np.ndarray]:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("images", "vertices")}
        if arrays["images"].shape != expected or arrays["images"].dtype != np.uint8:
            raise ValueError(f"{p}: images of shape {arrays['images'].shape}, expected {expected}")
        return arrays

    arrays = compute_once(path, compute, _save, load, fields=fields)
    images = torch.from_numpy(arrays["images"]).unsqueeze(1)
    return TrianglesData(
        name=name,
        train=images[:n_train].contiguous(),
        test=images[n_train : n_train + n_test].contiguous(),
        holdout=images[n_train + n_test :].contiguous(),
        geometry=geometry,
    )
