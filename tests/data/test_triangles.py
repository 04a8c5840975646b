"""The triangles data set: the notebook's generator, vectorised, cached, and wired into the configs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage
import torch
from hydra import compose, initialize_config_dir
from matplotlib.path import Path as MplPath

from benchmark.data import build_dataset
from benchmark.data import triangles as tri
from benchmark.data.triangles import TriangleGeometry, TrianglesData, generate, triangles
from benchmark.metrics.features import ClassifierFeatures

CONF = Path(__file__).resolve().parents[2] / "conf"


def notebook_dataset(n: int, g: TriangleGeometry, seed: int) -> np.ndarray:
    """The study notebook's procedure, polygon by polygon: a reference written from its
    description (sector angles, rotation, [0, 1]² → raster, centre of mass to the middle,
    matplotlib containment on the subpixel grid, scipy box filter with background outside)."""
    rng = np.random.RandomState(seed)
    k, r, dim = g.n_vertices, g.subpixel, g.raster_dim
    seg = 360.0 / k
    out = np.zeros((n, dim, dim))
    grid = np.stack(np.mgrid[0 : dim * r, 0 : dim * r], axis=-1).reshape(-1, 2)
    for i in range(n):
        deg = [j * seg + g.min_segment_angle / 2 + rng.rand() * (seg - g.min_segment_angle / 2)
               for j in range(k)]
        rad = np.radians(deg)
        x = (np.column_stack([np.cos(rad), np.sin(rad)]) + 1) / 2
        theta = np.radians(rng.rand() * 2 * np.pi)
        x = x @ np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        v = x * dim * g.scale
        v += dim / 2 - v.mean(axis=0)
        inside = MplPath(v * r).contains_points(grid).reshape(dim * r, dim * r)
        box = scipy.ndimage.convolve((~inside).astype(np.float64), np.ones((r, r)),
                                     mode="constant", cval=1.0)
        out[i] = box[::r, ::r] / (r * r)
    return out[rng.permutation(n)]


@pytest.mark.parametrize("geometry", [TriangleGeometry(), TriangleGeometry(
    raster_dim=16, scale=0.9, subpixel=5, n_vertices=4, min_segment_angle=30.0)])
def test_generator_equals_the_notebooks_procedure(geometry: TriangleGeometry) -> None:
    images, vertices = generate(40, geometry, seed=3)
    expected = notebook_dataset(40, geometry, seed=3)
    np.testing.assert_array_equal(images, np.rint(expected * 255).astype(np.uint8))
    # The float images too, before rounding: the same subpixel counts (to float round-off).
    np.testing.assert_allclose(tri.rasterize(vertices, geometry).numpy(), expected, rtol=0, atol=1e-12)


def test_triangle_geometry() -> None:
    g = TriangleGeometry()
    _, v = generate(500, g, seed=0)
    centre = np.array([g.raster_dim / 2] * 2)
    np.testing.assert_allclose(v.mean(axis=1), np.broadcast_to(centre, (500, 2)), atol=1e-12)
    # On a circle of radius scale·dim/2 (10.5 px) around their circumcentre: equal side
    # lengths over sines of opposite angles (law of sines: a / sin A = 2R).
    a = np.linalg.norm(v[:, 1] - v[:, 2], axis=1)
    b = np.linalg.norm(v[:, 0] - v[:, 2], axis=1)
    c = np.linalg.norm(v[:, 0] - v[:, 1], axis=1)
    cos_a = (b**2 + c**2 - a**2) / (2 * b * c)
    np.testing.assert_allclose(a / np.sqrt(1 - cos_a**2), 2 * g.radius, rtol=1e-9)
    # Neighbouring vertices at least min_segment_angle / 2 apart (seen from the circumcentre):
    # the smallest side is at least the chord of 10 degrees.
    assert np.minimum(np.minimum(a, b), c).min() >= 2 * g.radius * math.sin(math.radians(5)) - 1e-9


def test_images_look_like_triangles() -> None:
    g = TriangleGeometry()
    images, _ = generate(200, g, seed=0)
    assert images.dtype == np.uint8 and images.shape == (200, 28, 28)
    assert (images[:, [0, 0, -1, -1], [0, -1, 0, -1]] == 255).all()  # white corners
    assert (images[:, 14, 14] == 0).all()  # the pixel holding the centre of mass: dark
    grey = (images > 0) & (images < 255)
    assert grey.any(axis=(1, 2)).all()  # anti-aliased edges
    dark = (255 - images.astype(float)).sum(axis=(1, 2)) / 255  # polygon area in pixels
    assert dark.min() > 10 and dark.max() < 3 * math.sqrt(3) / 4 * g.radius**2 + 1


def test_splits_cache_and_device_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    data = triangles(n_images=160)
    assert isinstance(data, TrianglesData) and data.name == "triangles"
    assert data.sample_shape == (1, 28, 28) and data.is_image and data.num_classes is None
    assert (len(data.train), len(data.test), len(data.holdout)) == (120, 20, 20)
    images, _ = generate(160, TriangleGeometry(), seed=0)
    whole = torch.cat([data.train, data.test, data.holdout])[:, 0].numpy()
    np.testing.assert_array_equal(whole, images)  # in the generator's order: train, test, hold-out
    (npz,) = (tmp_path / "datasets").glob("triangles-*.npz")

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("regenerated despite the cache")

    monkeypatch.setattr(tri, "generate", no_generation)
    again = triangles(n_images=160)
    assert torch.equal(again.holdout, data.holdout) and again.fingerprint() == data.fingerprint()
    monkeypatch.undo()
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    other = triangles(n_images=200)  # n_images is part of the key: a second file
    assert len(list((tmp_path / "datasets").glob("triangles-*.npz"))) == 2 and npz.exists()
    assert other.fingerprint() != data.fingerprint()

    moved = data.to("cpu")
    assert isinstance(moved, TrianglesData) and moved.geometry == data.geometry
    assert torch.equal(moved.holdout, data.holdout) and moved.fingerprint() == data.fingerprint()


def test_study_split_sizes_and_validation() -> None:
    assert tri.split_sizes(80_000) == (60_000, 10_000, 10_000)
    with pytest.raises(ValueError, match="n_images"):
        tri.split_sizes(8)
    with pytest.raises(ValueError, match="min_segment_angle"):
        TriangleGeometry(min_segment_angle=150.0)
    with pytest.raises(ValueError, match="multiple of 4"):
        TriangleGeometry(raster_dim=30)


def test_soft_rasteriser_is_close_and_differentiable() -> None:
    g = TriangleGeometry()
    _, v = generate(64, g, seed=1)
    exact = tri.rasterize(v, g)
    vt = torch.from_numpy(v).requires_grad_(True)
    soft = tri.rasterize_soft(vt, g)
    assert (soft - exact).abs().max() < 0.07
    assert (soft - exact).square().flatten(1).sum(1).max() < 0.05
    soft.sum().backward()
    assert torch.isfinite(vt.grad).all() and vt.grad.abs().sum() > 0
    # Moving every vertex right moves the triangle right: the soft image follows the exact one.
    moved = tri.rasterize_soft(vt.detach() + torch.tensor([0.3, 0.0], dtype=torch.float64), g)
    exact_moved = tri.rasterize(v + np.array([0.3, 0.0]), g)
    assert (moved - exact_moved).abs().max() < 0.07


def test_dataset_config_selects_raw_features_and_the_triangles_metric(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["dataset=triangles", "dataset.n_images=64"])
        chosen = compose(config_name="config", overrides=["dataset=triangles", "features=inception",
                                                           "eval.metrics=[fid]"])
    assert cfg.features._target_.endswith("RawFeatures") and cfg.arch._target_.endswith("InfoGAN")
    assert list(cfg.eval.metrics) == ["fid", "triangles"]
    assert cfg.eval.options.triangles.delta == 4.0
    # The command line still wins.
    assert chosen.features._target_.endswith("InceptionFeatures") and list(chosen.eval.metrics) == ["fid"]
    data = build_dataset(cfg.dataset)
    assert isinstance(data, TrianglesData) and len(data.train) == 48
    # No labels: the classifier extractor cannot be trained on it, and says so.
    with pytest.raises(ValueError, match="labelled images"):
        ClassifierFeatures(data)
