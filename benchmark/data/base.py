"""In-memory dataset container shared by every dataset builder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

SPLITS = ("train", "test")


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not on disk (and were not, or could not be, downloaded)."""


@dataclass(eq=False)  # tensors have no truth value, so the generated __eq__ would be useless
class Data:
    """A dataset held in memory. Train split for training; test split is the FID reference (as in the study).

    Images are uint8 (N, C, H, W) in 0..255; point data (toys) is float32 (N, D).
    Tensors are treated as immutable: `fingerprint()` is cached after the first call.

    What some metrics need besides the splits, offered by the datasets that have it (None
    otherwise): `modes`/`mode_std` (the toys' mixture: mode coverage), `holdout` (real samples
    seen neither in training nor in the FID reference: the triangles' recall targets) and
    `manifold` (the known data manifold: the triangles' geometry, for precision).
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    modes: torch.Tensor | None = None
    mode_std: float | None = None
    holdout: torch.Tensor | None = None
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def is_image(self) -> bool:
        """True for uint8 image data, False for float point data."""
        return self.train.dtype == torch.uint8

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. (1, 28, 28) or (2,)."""
        return tuple(self.train.shape[1:])

    @property
    def manifold(self) -> Any | None:
        """The known data manifold, for metrics that measure a distance to it; None here."""
        return None

    @property
    def num_classes(self) -> int | None:
        """Number of classes (or mixture modes); None when the dataset is unlabelled."""
        if self.modes is not None:
            return int(self.modes.shape[0])
        present = [t for t in (self.train_labels, self.test_labels) if t is not None and t.numel()]
        if not present:
            return None
        return int(max(int(t.max()) for t in present)) + 1

    def split(self, name: str) -> torch.Tensor:
        """The samples of split `name` ("train" or "test")."""
        _check_split(name)
        return self.train if name == "train" else self.test

    def labels(self, name: str) -> torch.Tensor | None:
        """The labels of split `name` ("train" or "test"), or None if unlabelled."""
        _check_split(name)
        return self.train_labels if name == "train" else self.test_labels

    def to(self, device: torch.device | str) -> Data:
        """A new Data with all tensors moved to `device`."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        moved = Data(
            name=self.name,
            train=self.train.to(device),
            test=self.test.to(device),
            train_labels=move(self.train_labels),
            test_labels=move(self.test_labels),
            modes=move(self.modes),
            mode_std=self.mode_std,
            holdout=move(self.holdout),
        )
        # Same content, so the digest carries over; saves re-hashing (and a copy back from the GPU).
        moved._fingerprint = self._fingerprint
        return moved

    def fingerprint(self) -> str:
        """Hex digest identifying the content (name, shapes, dtypes, tensor bytes); a cache key."""
        if self._fingerprint is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(self.name.encode())
            for key in ("train", "test", "train_labels", "test_labels"):
                t = getattr(self, key)
                # Not the hold-out split: it comes from the same builder call as train and test,
                # and leaving it out keeps every digest (a cache key) as it was before it existed.
                # Field name and None-ness go in too, so (x, labels=None) and (x, labels) differ.
                h.update(f"|{key}:".encode())
                if t is None:
                    h.update(b"none")
                    continue
                h.update(f"{tuple(t.shape)}:{t.dtype}:".encode())
                h.update(_tensor_bytes(t))
            self._fingerprint = h.hexdigest()
        return self._fingerprint


def _tensor_bytes(t: torch.Tensor) -> np.ndarray:
    # hashlib reads the contiguous array through the buffer protocol: no copy of a 2 GB CelebA tensor
    # (same digest as hashing .tobytes()).
    return t.detach().cpu().contiguous().numpy()


def _check_split(name: str) -> None:
    if name not in SPLITS:
        valid = ", ".join(repr(s) for s in SPLITS)
        raise ValueError(f"unknown split {name!r}; valid splits are {valid}")


def to_model_space(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1] (x / 255); float tensors pass through unchanged (as float32)."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    if x.is_floating_point():
        return x.to(torch.float32)
    raise TypeError(f"expected uint8 images or a float tensor, got {x.dtype}")
