"""scikit-learn's embedded 8x8 handwritten digits: a tiny offline image dataset for smoke runs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from benchmark.data.base import Data


def digits(
    size: int = 16, test_fraction: float = 0.2, split_seed: int = 0, *, name: str = "digits"
) -> Data:
    """scikit-learn's `load_digits()` (1797 images, labels 0-9) as uint8 (N, 1, size, size).

    Pixel values 0..16 are scaled to 0..255 and upsampled bilinearly (no antialiasing) to
    `size` x `size`. The train/test split is stratified by label and fixed by `split_seed`.
    `size` must be a multiple of 4 and at least 8, because the networks downsample by 4.
    """
    if size < 8 or size % 4:
        raise ValueError(
            f"digits size must be a multiple of 4 and >= 8 (networks downsample by 4), got {size}"
        )
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")

    bunch = load_digits()
    images = torch.from_numpy(bunch.images).to(torch.float32).unsqueeze(1) * (255.0 / 16.0)
    labels = torch.from_numpy(bunch.target).to(torch.int64)
    if size != images.shape[-1]:
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", align_corners=False, antialias=False
        )
    images = images.round().clamp_(0, 255).to(torch.uint8)

    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(),
        test_size=test_fraction,
        stratify=labels.numpy(),
        random_state=split_seed,
    )
    train_idx, test_idx = torch.from_numpy(train_idx), torch.from_numpy(test_idx)
    return Data(
        name=name,
        train=images[train_idx].contiguous(),
        test=images[test_idx].contiguous(),
        train_labels=labels[train_idx],
        test_labels=labels[test_idx],
    )
