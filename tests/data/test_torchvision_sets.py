"""Image datasets loaded from tiny copies of the real on-disk formats, through the users' code path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from benchmark.data import DatasetNotFoundError
from benchmark.data.torchvision_sets import celeba, cifar10, fashion_mnist, mnist

IDX_SETS = [(mnist, "MNIST", "mnist"), (fashion_mnist, "FashionMNIST", "fashion_mnist")]


@pytest.mark.parametrize(("build", "folder", "name"), IDX_SETS)
def test_idx_gz_round_trip(build, folder: str, name: str, tmp_path: Path, idx_writer) -> None:
    written = idx_writer(tmp_path, folder, n_train=7, n_test=3)
    for _ in range(2):  # the second load reads the files decompressed by the first
        d = build(str(tmp_path))
        assert d.name == name
        assert d.train.shape == (7, 1, 28, 28) and d.test.shape == (3, 1, 28, 28)
        assert d.train.dtype == torch.uint8 and d.train_labels.dtype == torch.int64
        assert np.array_equal(d.train[:, 0].numpy(), written["train_images"])
        assert np.array_equal(d.test[:, 0].numpy(), written["t10k_images"])
        assert np.array_equal(d.train_labels.numpy(), written["train_labels"])
        assert np.array_equal(d.test_labels.numpy(), written["t10k_labels"])
    assert not list((tmp_path / folder / "raw").glob("tmp*"))  # no leftover temp dirs


def test_idx_decompressed_files(tmp_path: Path, idx_writer) -> None:
    written = idx_writer(tmp_path, "MNIST", n_train=4, n_test=2, gz=False)
    d = mnist(str(tmp_path), download=False, name="m")
    assert d.name == "m"
    assert np.array_equal(d.train[:, 0].numpy(), written["train_images"])


def test_cifar10_round_trip(tmp_path: Path, cifar_writer) -> None:
    written = cifar_writer(tmp_path, per_batch=2, n_test=3)
    d = cifar10(str(tmp_path))
    assert d.name == "cifar10"
    assert d.train.shape == (10, 3, 32, 32) and d.test.shape == (3, 3, 32, 32)
    assert d.train.dtype == torch.uint8 and d.test_labels.dtype == torch.int64
    assert d.train.is_contiguous()
    assert np.array_equal(d.train.permute(0, 2, 3, 1).numpy(), written["train_images"])
    assert np.array_equal(d.test.permute(0, 2, 3, 1).numpy(), written["test_images"])
    assert np.array_equal(d.train_labels.numpy(), written["train_labels"])
    assert np.array_equal(d.test_labels.numpy(), written["test_labels"])


def test_celeba_round_trip(tmp_path: Path, celeba_writer) -> None:
    partitions = [0, 0, 1, 2, 0, 2]
    colours = celeba_writer(tmp_path, partitions)
    d = celeba(str(tmp_path), size=16)
    assert d.name == "celeba"
    assert d.train.shape == (3, 3, 16, 16) and d.test.shape == (2, 3, 16, 16)
    assert d.train.dtype == torch.uint8
    assert d.train_labels is None and d.num_classes is None
    for split, want in (("train", [0, 1, 4]), ("test", [3, 5])):
        got = d.split(split).float().mean(dim=(2, 3))
        expected = torch.tensor([colours[i] for i in want], dtype=torch.float32)
        assert torch.allclose(got, expected, atol=4)  # JPEG is lossy


def test_celeba_crops_the_centre(tmp_path: Path, celeba_writer) -> None:
    colours = celeba_writer(tmp_path, [0, 2])
    # Paint everything outside the central 140x140 white: the crop must discard it.
    path = tmp_path / "celeba" / "img_align_celeba" / "000001.jpg"
    with Image.open(path) as im:
        centre = im.crop(((178 - 140) // 2, (218 - 140) // 2, (178 + 140) // 2, (218 + 140) // 2))
    framed = Image.new("RGB", (178, 218), (255, 255, 255))
    framed.paste(centre, ((178 - 140) // 2, (218 - 140) // 2))
    framed.save(path, quality=95)
    d = celeba(str(tmp_path), size=8)
    inner = d.train[0].float().mean(dim=(1, 2))
    assert torch.allclose(inner, torch.tensor(colours[0], dtype=torch.float32), atol=6)


def test_celeba_missing_image(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match="000002.jpg"):
        celeba(str(tmp_path))


def test_celeba_bad_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        celeba(str(tmp_path), size=200)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (mnist, "MNIST/raw/train-images-idx3-ubyte.gz"),
        (fashion_mnist, "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz"),
        (cifar10, "cifar-10-batches-py/batches.meta"),
        (celeba, "celeba/list_eval_partition.txt"),
    ],
)
def test_missing_files(build, expected: str, tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    with pytest.raises(DatasetNotFoundError) as info:
        build(str(root), download=False)
    message = str(info.value)
    assert str(root) in message
    assert "download" in message
    assert expected in message


def test_download_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(DatasetNotFoundError, match="download") as info:
        mnist(str(tmp_path), download=True)
    assert str(tmp_path) in str(info.value)


def test_corrupt_idx_file(tmp_path: Path, idx_writer) -> None:
    idx_writer(tmp_path, "MNIST", n_train=4, n_test=2, gz=False)
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(DatasetNotFoundError, match="corrupt"):
        mnist(str(tmp_path))


def test_celeba_validation_images_not_needed(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 1, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000002.jpg").unlink()  # the validation image
    d = celeba(str(tmp_path), size=8)
    assert len(d.train) == 1 and len(d.test) == 1


def test_celeba_corrupt_jpeg(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetNotFoundError, match="corrupt"):
        celeba(str(tmp_path), size=8)


def test_idx_gz_in_read_only_dir(
    tmp_path: Path, idx_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx_writer(tmp_path, "MNIST", n_train=2, n_test=2)

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr("tempfile.TemporaryDirectory", read_only)
    with pytest.raises(DatasetNotFoundError, match="gunzip"):
        mnist(str(tmp_path))
