"""Precision/recall/F1 on triangles: manifold fitting, generator inversion, the Evaluator, gan-train."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from benchmark.data.triangles import (
    TriangleGeometry,
    TrianglesData,
    polygon_vertices,
    rasterize,
    rasterize_soft,
    triangles,
)
from benchmark.metrics.evaluator import Evaluator, LatentModel
from benchmark.metrics.features import RawFeatures
from benchmark.metrics.triangles import (
    DELTA,
    TriangleSettings,
    f1_score,
    fit_triangles,
    invert,
    project_gaps,
    triangle_scores,
)

# Budgets small enough for a shared CPU; the checks below hold with room to spare.
SMALL = TriangleSettings(n_precision=48, n_recall=32, bank=2048, fit_steps=30, pool=512,
                         restarts=2, steps=30)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Tensors of a few hundred thousand elements: extra threads only add overhead, and on a
    # loaded machine OpenMP threads waiting for each other make every op many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> TrianglesData:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANBENCH_CACHE", str(tmp_path_factory.mktemp("triangles_cache")))
        return triangles(n_images=512)  # 384 train, 64 test, 64 hold-out


def data_generator(g: TriangleGeometry, first_vertex_range: float = 1.0) -> Callable[[Tensor], Tensor]:
    """A differentiable stand-in for a perfect generator: z in [-1, 1]^(k+1) → the notebook's
    uniform draws → a triangle through the soft rasteriser. ``first_vertex_range`` < 1 only
    reaches that fraction of the first vertex's sector: a generator that drops modes."""
    k, seg = g.n_vertices, 360.0 / g.n_vertices

    def generate(z: Tensor) -> Tensor:
        u = (z.double() + 1) / 2
        u = torch.cat([u[:, :1] * first_vertex_range, u[:, 1:]], dim=1)
        deg = torch.arange(k, dtype=torch.float64) * seg + g.min_segment_angle / 2 + u[:, :k] * (
            seg - g.min_segment_angle / 2)
        angles = torch.deg2rad(deg) - torch.deg2rad(u[:, k : k + 1] * 2 * math.pi)
        return rasterize_soft(polygon_vertices(angles, g), g)[:, None].float()

    return generate


def draw(generate: Callable[[Tensor], Tensor], n: int, z_dim: int = 4, seed: int = 1) -> Tensor:
    z = torch.rand(n, z_dim, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return generate(z).detach()


# --- the scores ------------------------------------------------------------------------------------


def test_a_perfect_generator_scores_high_and_dropping_modes_costs_recall_only(data: TrianglesData) -> None:
    g = data.geometry
    perfect = data_generator(g)
    scores = triangle_scores(draw(perfect, 48), data.holdout, g, perfect, 4, "uniform", SMALL)
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.9
    assert scores["f1"] == pytest.approx(f1_score(scores["precision"], scores["recall"]))

    # The first vertex only in the first tenth of its sector: still triangles, fewer of them
    # (recall 0.28 here; 0.53 with a quarter of the sector).
    dropped = data_generator(g, first_vertex_range=0.1)
    partial = triangle_scores(draw(dropped, 48), data.holdout, g, dropped, 4, "uniform", SMALL)
    assert partial["precision"] >= 0.95
    assert partial["recall"] < 0.6 and partial["f1"] < scores["f1"]


def test_blank_and_noise_are_not_triangles(data: TrianglesData) -> None:
    g = data.geometry
    blank = torch.ones(8, 28, 28)
    noise = torch.rand(8, 28, 28, generator=torch.Generator().manual_seed(0))
    nan = torch.full((2, 28, 28), math.nan)
    d_blank, _ = fit_triangles(blank, g, SMALL)
    d_noise, _ = fit_triangles(noise, g, SMALL)
    d_nan, _ = fit_triangles(nan, g, SMALL)
    assert (d_blank > DELTA).all() and (d_noise > 20 * DELTA).all() and torch.isinf(d_nan).all()
    # A blank generator: no precision, and no hold-out triangle within reach either.
    const = lambda z: torch.ones(z.shape[0], 1, 28, 28) + 0 * z.sum()  # noqa: E731
    assert triangle_scores(blank[:, None], data.holdout, g, const, 4, "uniform", SMALL) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_fit_recovers_data_triangles(data: TrianglesData) -> None:
    g = data.geometry
    x = data.holdout[:32, 0].float() / 255
    dist, angles = fit_triangles(x, g, SMALL)
    assert dist.max() < 1.0 < DELTA  # uint8 rounding and a short fit
    # The returned angles are the fitted triangle: its exact image is that close.
    refit = rasterize(polygon_vertices(angles, g), g)
    torch.testing.assert_close((refit - x.double()).square().flatten(1).sum(1), dist)


def test_project_gaps_is_the_projection_onto_the_allowed_gaps() -> None:
    g = TriangleGeometry()
    lo, hi = g.gap_range
    gaps = torch.randn(200, 3, generator=torch.Generator().manual_seed(0)).double() * 2 + 2
    p = project_gaps(gaps, g)
    torch.testing.assert_close(p.sum(1), torch.full((200,), 2 * math.pi, dtype=torch.float64))
    assert (p >= lo - 1e-12).all() and (p <= hi + 1e-12).all()
    torch.testing.assert_close(project_gaps(p, g), p)  # feasible points stay put
    # No feasible point is closer: compare with the feasible gaps of random data triangles.
    feasible = project_gaps(torch.rand(500, 3, dtype=torch.float64) * 4, g)
    assert (torch.cdist(gaps, p).diagonal()[:, None] <= torch.cdist(gaps, feasible) + 1e-9).all()


def test_invert_touches_neither_the_generator_nor_the_global_rng() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 6), nn.Sigmoid())
    targets = torch.rand(5, 6)
    before = [p.detach().clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    with torch.no_grad():  # as in the training loop's evaluation block
        best = invert(net, targets, 3, "uniform", dataclasses.replace(SMALL, pool=64, steps=20))
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    # Never worse than the best pool sample, and gradient steps do improve on it.
    pool = torch.rand(64, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        pool_best = torch.cdist(targets.double(), net(pool).double()).square().amin(1)
    assert (best <= pool_best + 1e-9).all() and (best < pool_best - 1e-6).any()


def test_f1_and_settings_validation() -> None:
    assert f1_score(0.0, 0.0) == 0.0 and f1_score(1.0, 0.5) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"unknown triangles options \['n_recal'\]"):
        TriangleSettings.from_options({"n_recal": 3})
    with pytest.raises(ValueError, match="delta"):
        TriangleSettings(delta=0)
    assert TriangleSettings.from_options({"steps": 7}).steps == 7


# --- the Evaluator and gan-train ------------------------------------------------------------------


def test_evaluator_records_scores_and_protocol(data: TrianglesData) -> None:
    g = data.geometry
    perfect = data_generator(g)
    options = {"triangles": dataclasses.asdict(SMALL)}
    ev = Evaluator(data, RawFeatures(data), ["fid", "triangles"], num_samples=64, batch_size=32,
                   options=options)
    z = torch.Generator().manual_seed(5)
    got = ev(lambda n: perfect(torch.rand(n, 4, generator=z) * 2 - 1),
             LatentModel(perfect, z_dim=4, latent="uniform"))
    assert list(got)[:4] == ["fid", "precision", "recall", "f1"]
    assert got["precision"] >= 0.9 and got["recall"] >= 0.9
    assert {k: got[k] for k in ("extractor", "extractor_weights", "n_gen", "n_real",
                                "reference_split", "triangles_delta", "triangles_n_precision",
                                "triangles_n_recall")} == {
        "extractor": "raw", "extractor_weights": "none", "n_gen": 64, "n_real": 64,
        "reference_split": "test", "triangles_delta": DELTA, "triangles_n_precision": 48,
        "triangles_n_recall": 32}
    assert math.isfinite(got["fid_floor"]) and got["fid_floor"] > 0

    with pytest.raises(ValueError, match="invert the generator"):
        ev(lambda n: perfect(torch.rand(n, 4) * 2 - 1))


def test_evaluator_refuses_what_cannot_work(data: TrianglesData, digits16) -> None:
    with pytest.raises(ValueError, match=r"\['triangles'\] needs a data set with a known triangle manifold"):
        Evaluator(digits16, RawFeatures(digits16), ["fid", "triangles"], num_samples=10)
    plain = dataclasses.replace(digits16, holdout=digits16.test)  # a hold-out, no manifold
    with pytest.raises(ValueError, match=r"known triangle manifold and a hold-out split"):
        Evaluator(plain, RawFeatures(plain), ["triangles"], num_samples=10)
    with pytest.raises(ValueError, match="pr and triangles both report 'precision'"):
        Evaluator(data, RawFeatures(data), ["fid", "pr", "triangles"], num_samples=10)
    with pytest.raises(ValueError, match=r"eval.options for unknown metrics \['triangle'\]"):
        Evaluator(data, RawFeatures(data), ["fid"], num_samples=10, options={"triangle": {}})


def test_gan_train_on_triangles_records_precision_recall_f1(compose_cfg, tmp_path: Path) -> None:
    from benchmark.train import run

    cfg = compose_cfg("dataset=triangles", "dataset.n_images=512", "arch.width=0.125",
                      "train.threads=1", "eval.options.triangles.n_precision=16",
                      "eval.options.triangles.n_recall=8", "eval.options.triangles.pool=128",
                      "eval.options.triangles.steps=5", "+eval.options.triangles.bank=512",
                      "+eval.options.triangles.fit_steps=5")
    result = run(cfg, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20]
    for r in rows:
        assert all(0.0 <= r[k] <= 1.0 for k in ("precision", "recall", "f1"))
        assert r["triangles_delta"] == DELTA and r["triangles_n_recall"] == 8
        assert r["extractor"] == "raw" and r["extractor_weights"] == "none"
        assert math.isfinite(r["fid_floor"]) and r["reference_split"] == "test"
    assert set(result["final_metrics"]) == {"fid", "precision", "recall", "f1"}
    assert result["protocol"]["fid_floor"] == rows[-1]["fid_floor"]
