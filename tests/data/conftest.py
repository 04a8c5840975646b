"""Writers for tiny copies of the real on-disk dataset formats (IDX, CIFAR pickles, CelebA JPEGs)."""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _idx_bytes(arr: np.ndarray) -> bytes:
    # IDX: two zero bytes, type code 0x08 (ubyte), number of dims, big-endian int32 dims, data.
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_dataset(
    root: Path, folder: str, n_train: int, n_test: int, gz: bool = True
) -> dict[str, np.ndarray]:
    """Write <root>/<folder>/raw/{train,t10k}-{images,labels} IDX files; return what was written."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written: dict[str, np.ndarray] = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            path = raw / f"{prefix}-{kind}-ubyte"
            data = _idx_bytes(arr)
            if gz:
                with gzip.open(f"{path}.gz", "wb") as fh:
                    fh.write(data)
            else:
                path.write_bytes(data)
        written[f"{prefix}_images"], written[f"{prefix}_labels"] = images, labels
    return written


def write_cifar10(root: Path, per_batch: int, n_test: int) -> dict[str, np.ndarray]:
    """Write the python-pickle CIFAR-10 layout; return the HWC images and labels written."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    train_images, train_labels = [], []

    def dump(name: str, n: int) -> tuple[np.ndarray, list[int]]:
        hwc = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        # The official rows are 3072 bytes: the red plane, then green, then blue.
        rows = hwc.transpose(0, 3, 1, 2).reshape(n, 3072)
        entry = {"batch_label": name, "labels": labels, "data": rows, "filenames": [b""] * n}
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
        return hwc, labels

    for i in range(1, 6):
        hwc, labels = dump(f"data_batch_{i}", per_batch)
        train_images.append(hwc)
        train_labels += labels
    test_images, test_labels = dump("test_batch", n_test)
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072}, fh)
    return {
        "train_images": np.concatenate(train_images),
        "train_labels": np.array(train_labels),
        "test_images": test_images,
        "test_labels": np.array(test_labels),
    }


def write_celeba(root: Path, partitions: list[int]) -> list[tuple[int, int, int]]:
    """Write 178x218 flat-colour JPEGs 000001.jpg... with the given partition codes; return colours."""
    folder = root / "celeba"
    images = folder / "img_align_celeba"
    images.mkdir(parents=True)
    colours = []
    lines = []
    for i, part in enumerate(partitions, 1):
        colour = (20 * i % 256, 255 - 30 * i % 256, 60 + 10 * i)
        # A flat colour survives JPEG compression and resizing almost exactly.
        Image.new("RGB", (178, 218), colour).save(images / f"{i:06d}.jpg", quality=95)
        colours.append(colour)
        lines.append(f"{i:06d}.jpg {part}\n")
    (folder / "list_eval_partition.txt").write_text("".join(lines))
    return colours


@pytest.fixture
def idx_writer() -> Callable[..., dict[str, np.ndarray]]:
    return write_idx_dataset


@pytest.fixture
def cifar_writer() -> Callable[..., dict[str, np.ndarray]]:
    return write_cifar10


@pytest.fixture
def celeba_writer() -> Callable[..., list[tuple[int, int, int]]]:
    return write_celeba
