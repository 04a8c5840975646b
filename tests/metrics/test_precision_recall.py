from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

from benchmark.metrics.precision_recall import knn_radii, precision_recall


def brute_force(real: np.ndarray, gen: np.ndarray, k: int) -> dict[str, float]:
    """Kynkäänniemi et al. 2019 straight from the definition, with full distance matrices."""

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    def radii(x: np.ndarray) -> np.ndarray:
        d = dist(x, x)
        np.fill_diagonal(d, np.inf)  # the k-th nearest *other* sample
        return np.sort(d, axis=1)[:, k - 1]

    precision = (dist(gen, real) <= radii(real)[None, :]).any(axis=1).mean()
    recall = (dist(real, gen) <= radii(gen)[None, :]).any(axis=1).mean()
    return {"precision": float(precision), "recall": float(recall)}


def points(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) * scale + shift


@pytest.mark.parametrize(("n_real", "n_gen", "d", "k", "batch_size"), [
    (200, 150, 2, 3, 2048),
    (200, 150, 2, 3, 7),      # blocks that do not divide the sets
    (130, 170, 8, 1, 64),
    (100, 100, 5, 5, 33),
    (60, 90, 3, 10, 1),       # one row at a time
])
def test_matches_brute_force(n_real: int, n_gen: int, d: int, k: int, batch_size: int) -> None:
    real = points(n_real, d, 0)
    gen = points(n_gen, d, 1, shift=0.4, scale=1.3)
    got = precision_recall(real, gen, k=k, batch_size=batch_size)
    assert got == brute_force(real, gen, k)
    assert 0 < got["precision"] < 1


def test_knn_radii_matches_sorting_and_counts_duplicates() -> None:
    x = torch.from_numpy(points(50, 3, 2))
    x = torch.cat([x, x[:5]])  # exact duplicates are neighbours at distance 0
    d = torch.cdist(x, x)
    d.fill_diagonal_(torch.inf)
    for k in (1, 2, 4):
        expected = d.sort(dim=1).values[:, k - 1]
        # cdist's |a|²+|b|²-2aᵀb form leaves ~sqrt(eps)·|x| (1e-8) at coincident points.
        assert torch.allclose(knn_radii(x, k, batch_size=8), expected, rtol=0, atol=1e-7)
    assert (knn_radii(x, 1, batch_size=8)[:5] < 1e-7).all()


def test_same_set_is_perfect_and_far_sets_are_zero() -> None:
    x = points(300, 4, 3)
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(x, x + 100.0) == {"precision": 0.0, "recall": 0.0}


def test_mode_dropping_lowers_recall_not_precision() -> None:
    real = np.concatenate([points(200, 2, 4, shift=-5), points(200, 2, 5, shift=5)])
    gen = points(400, 2, 6, shift=5)  # one of the two clusters only
    got = precision_recall(real, gen)
    assert got["precision"] > 0.9 and 0.4 < got["recall"] < 0.6


@pytest.mark.parametrize("save_cpu_ram", [False, True])
def test_agrees_with_torch_fidelity(save_cpu_ram: bool) -> None:
    real = torch.from_numpy(points(400, 16, 7))
    gen = torch.from_numpy(points(300, 16, 8, shift=0.2, scale=1.2))
    theirs = prc_features_to_metric(gen, real, prc_neighborhood=3, prc_batch_size=128,
                                    save_cpu_ram=save_cpu_ram, verbose=False)
    ours = precision_recall(real, gen, k=3, batch_size=100)
    # Same decisions; torch-fidelity averages the 0/1 flags in float32.
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-7)
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-7)
    # float32 distances reach the same decisions on these (tie-free) points.
    assert precision_recall(real.float(), gen.float(), dtype=torch.float32) == ours


def test_errors() -> None:
    with pytest.raises(ValueError, match="dims differ"):
        precision_recall(points(10, 2, 0), points(10, 3, 0))
    with pytest.raises(ValueError, match=r"k must be in \[1, n - 1\]"):
        precision_recall(points(3, 2, 0), points(10, 2, 0), k=3)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        precision_recall(np.zeros(4), points(10, 2, 0))
