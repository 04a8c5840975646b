"""2-D Gaussian-mixture toy datasets (mode-collapse diagnostics)."""

from __future__ import annotations

import math

import numpy as np
import torch

from benchmark.data.base import Data


def ring8(
    n_train: int = 50_000,
    n_test: int = 10_000,
    radius: float = 2.0,
    std: float = 0.02,
    seed: int = 0,
    *,
    name: str = "ring8",
) -> Data:
    """8 isotropic Gaussians (std `std`) equally spaced on a circle of radius `radius`."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    modes = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return _mixture(name, modes.to(torch.float32), std, n_train, n_test, seed)


def grid25(
    n_train: int = 50_000,
    n_test: int = 10_000,
    spacing: float = 2.0,
    std: float = 0.05,
    seed: int = 0,
    *,
    name: str = "grid25",
) -> Data:
    """25 isotropic Gaussians on a 5x5 grid centred at 0 (coordinates {-2,-1,0,1,2} * `spacing`)."""
    axis = (torch.arange(5, dtype=torch.float32) - 2) * spacing
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    modes = torch.stack([xs.flatten(), ys.flatten()], dim=1)  # row-major: mode k = (x_k, y_k)
    return _mixture(name, modes, std, n_train, n_test, seed)


def _mixture(
    name: str, modes: torch.Tensor, std: float, n_train: int, n_test: int, seed: int
) -> Data:
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    if std <= 0:
        raise ValueError(f"std must be positive, got {std}")
    # Independent, reproducible streams for the two splits: the test set (the FID/quality reference)
    # must not be a prefix or shift of the training stream.
    train_seed, test_seed = (
        int(s.generate_state(1, dtype=np.uint64)[0]) for s in np.random.SeedSequence(seed).spawn(2)
    )
    train, train_labels = _sample(modes, std, n_train, train_seed)
    test, test_labels = _sample(modes, std, n_test, test_seed)
    return Data(
        name=name,
        train=train,
        test=test,
        train_labels=train_labels,
        test_labels=test_labels,
        modes=modes,
        mode_std=float(std),
    )


def _sample(
    modes: torch.Tensor, std: float, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    labels = torch.randint(len(modes), (n,), generator=gen)
    noise = torch.randn(n, modes.shape[1], generator=gen)
    return modes[labels] + std * noise, labels
