from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from benchmark.metrics.kid import kid, mmd2_unbiased, polynomial_kernel


def feats(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * scale + shift


def fidelity_kid(gen: torch.Tensor, real: torch.Tensor, subsets: int, subset_size: int,
                 seed: int, **kernel: float) -> tuple[float, float]:
    """torch-fidelity's own KID on the same feature arrays (its input1 = generated)."""
    kw = {f"kid_kernel_poly_{k}": v for k, v in kernel.items()}
    out = kid_features_to_metric(gen, real, kid_subsets=subsets, kid_subset_size=subset_size,
                                 rng_seed=seed, verbose=False, **kw)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


@pytest.mark.parametrize(("n_gen", "n_real", "d", "subset_size", "seed"), [
    (300, 400, 16, 100, 0),
    (250, 250, 8, 250, 7),     # subsets are whole permutations
    (500, 320, 64, 200, 2020),  # torch-fidelity's default seed
])
def test_equals_torch_fidelity(n_gen: int, n_real: int, d: int, subset_size: int, seed: int) -> None:
    gen, real = feats(n_gen, d, 1, shift=0.1, scale=1.2), feats(n_real, d, 2)
    ours = kid(gen, real, subsets=15, subset_size=subset_size, seed=seed)
    theirs = fidelity_kid(gen, real, 15, subset_size, seed)
    assert ours == pytest.approx(theirs, abs=1e-9, rel=0)


def test_equals_torch_fidelity_other_kernel_parameters() -> None:
    gen, real = feats(200, 10, 3, shift=0.3), feats(200, 10, 4)
    for degree, gamma, coef0 in itertools.product((2, 3), (None, 0.05), (1.0, 0.5)):
        ours = kid(gen, real, subsets=5, subset_size=150, degree=degree, gamma=gamma,
                   coef0=coef0, seed=1)
        theirs = fidelity_kid(gen, real, 5, 150, 1, degree=degree, gamma=gamma, coef0=coef0)
        assert ours == pytest.approx(theirs, abs=1e-9, rel=0)


def test_subset_size_capped_at_the_smaller_set() -> None:
    # torch-fidelity refuses subset_size > n; ours uses min(subset_size, n_gen, n_real),
    # which is torch-fidelity called with that size.
    gen, real = feats(120, 8, 5), feats(300, 8, 6, shift=0.2)
    assert kid(gen, real, subsets=10, subset_size=1000, seed=3) == pytest.approx(
        fidelity_kid(gen, real, 10, 120, 3), abs=1e-9, rel=0)


def test_float32_features_agree_to_float32_rounding() -> None:
    # torch-fidelity computes in the features' dtype; ours is always float64.
    gen, real = feats(300, 32, 7, shift=0.1).float(), feats(300, 32, 8).float()
    mean, _ = kid(gen, real, subsets=10, subset_size=200, seed=0)
    theirs, _ = fidelity_kid(gen, real, 10, 200, 0)
    assert mean == pytest.approx(theirs, rel=1e-4)
    assert mean == pytest.approx(kid(gen.double(), real.double(), 10, 200, seed=0)[0], abs=1e-12)


def test_numpy_input_and_default_seed_reproducible() -> None:
    gen, real = feats(200, 4, 9).numpy(), feats(200, 4, 10).numpy()
    a = kid(gen, real, subsets=5, subset_size=100)
    assert a == kid(torch.from_numpy(gen), torch.from_numpy(real), subsets=5, subset_size=100)
    assert a != kid(gen, real, subsets=5, subset_size=100, seed=1)


def test_torch_device_path_equals_numpy() -> None:
    gen, real = feats(300, 16, 13, shift=0.2), feats(250, 16, 14)
    ours = kid(gen, real, subsets=8, subset_size=200, seed=4)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        on_device = kid(gen, real, subsets=8, subset_size=200, seed=4, device=device)
        assert on_device == pytest.approx(ours, rel=1e-12, abs=1e-15)


def test_mmd2_unbiased_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.5
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    got = mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y))
    assert got == pytest.approx(xx + yy - 2 * xy, abs=1e-12)


def test_same_distribution_near_zero_different_positive() -> None:
    real = feats(1000, 16, 11)
    same = kid(feats(1000, 16, 12), real, subsets=30, subset_size=300)
    shifted = kid(feats(1000, 16, 12, shift=0.3), real, subsets=30, subset_size=300)
    # Unbiased: an independent sample of the same distribution averages to ~0 (either sign).
    assert abs(same[0]) < 3 * same[1] and abs(same[0]) < shifted[0] / 50
    assert shifted[0] > 5 * shifted[1] > 0
    # A set against itself: the two subsets share ~m²/n points, whose k(x, x) enter the cross
    # term, a bias of about -2 (E k(x,x) - E k(x,y)) / n (here ≈ -0.015): ~0 next to a shift.
    itself = kid(real, real, subsets=30, subset_size=300)
    assert -0.03 < itself[0] < 0.005 and abs(itself[0]) < shifted[0] / 10


def test_errors() -> None:
    with pytest.raises(ValueError, match="dims differ"):
        kid(feats(10, 3, 0), feats(10, 4, 0))
    with pytest.raises(ValueError, match=">= 2 samples"):
        kid(feats(1, 3, 0), feats(10, 3, 0))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        kid(np.zeros(5), feats(10, 3, 0))
