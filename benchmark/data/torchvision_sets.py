"""MNIST, Fashion-MNIST, CIFAR-10 and CelebA, decoded once into uint8 tensors held in memory.

All loaders read the standard on-disk layouts that torchvision's dataset classes use, so a
`root` populated by torchvision (or by hand from the official archives) works unchanged:

- MNIST:          <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
- Fashion-MNIST:  <root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
- CIFAR-10:       <root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
- CelebA:         <root>/celeba/img_align_celeba/*.jpg and <root>/celeba/list_eval_partition.txt
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torchvision.datasets import CIFAR10, MNIST, CelebA, FashionMNIST
from torchvision.datasets.utils import extract_archive
from tqdm import tqdm

from benchmark.data.base import Data, DatasetNotFoundError

_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CELEBA_CROP = 140
_CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}  # codes used in list_eval_partition.txt


def mnist(root: str, download: bool = False, *, name: str = "mnist") -> Data:
    """MNIST (1x28x28): 60k train, 10k test images with labels, via torchvision's `MNIST`."""
    return _idx_dataset(MNIST, "MNIST", name, root, download)


def fashion_mnist(root: str, download: bool = False, *, name: str = "fashion_mnist") -> Data:
    """Fashion-MNIST (1x28x28): 60k train, 10k test images with labels, via `FashionMNIST`."""
    return _idx_dataset(FashionMNIST, "Fashion-MNIST", name, root, download)


def cifar10(root: str, download: bool = False, *, name: str = "cifar10") -> Data:
    """CIFAR-10 (3x32x32): 50k train, 10k test images with labels, via torchvision's `CIFAR10`.

    The batch files are only checked for presence, not against the official md5 sums (see
    `_CIFAR10Files`).
    """
    root = _expand(root)
    folder = os.path.join(root, CIFAR10.base_folder)
    names = [f for f, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    expected = [os.path.join(folder, f) for f in names]

    def present() -> bool:
        return all(os.path.isfile(p) for p in expected)

    if download and not present():
        _download(
            "CIFAR-10", root, expected, lambda: _CIFAR10Files(root, train=True, download=True)
        )
    if not present():
        raise _not_found("CIFAR-10", root, expected)
    try:
        train, test = _CIFAR10Files(root, train=True), _CIFAR10Files(root, train=False)
    except Exception as e:  # unpickling errors come in many types; all mean the same to the user
        raise _unreadable("CIFAR-10", folder, e) from e

    def images(ds: CIFAR10) -> torch.Tensor:
        return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW

    return Data(
        name=name,
        train=images(train),
        test=images(test),
        train_labels=torch.tensor(train.targets, dtype=torch.int64),
        test_labels=torch.tensor(test.targets, dtype=torch.int64),
    )


def celeba(root: str, download: bool = False, size: int = 64, *, name: str = "celeba") -> Data:
    """CelebA aligned faces (3 x size x size), unlabelled.

    The usual GAN protocol: each 178x218 `img_align_celeba` JPEG is centre-cropped to 140x140 and
    resized to `size` x `size` (bilinear, antialiased). Train = partition 0 of
    `list_eval_partition.txt` (162,770 images), test = partition 2 (19,962); the validation
    partition is unused. Every JPEG is decoded once (with a progress bar) into one uint8 tensor.

    Read directly rather than through torchvision's `CelebA`: that class also demands the four
    attribute/identity/bbox/landmark files and checks all annotation files against the official
    md5 sums, none of which a GAN needs. torchvision is still used to download when asked.
    """
    if not 1 <= size <= _CELEBA_CROP:
        raise ValueError(f"celeba size must be in 1..{_CELEBA_CROP} (the centre crop), got {size}")
    root = _expand(root)
    folder = os.path.join(root, CelebA.base_folder)
    image_dir = os.path.join(folder, "img_align_celeba")
    partition_file = os.path.join(folder, "list_eval_partition.txt")
    expected = [os.path.join(image_dir, "*.jpg"), partition_file]

    def present() -> bool:
        return os.path.isdir(image_dir) and os.path.isfile(partition_file)

    if download and not present():
        _download(
            "CelebA",
            root,
            expected,
            lambda: CelebA(root, split="all", target_type=[], download=True),
        )
    if not present():
        raise _not_found("CelebA", root, expected)

    partitions = _read_partitions(partition_file)
    files = {
        split: [f for f, p in partitions.items() if p == _CELEBA_PARTITIONS[split]]
        for split in ("train", "test")
    }
    on_disk = set(os.listdir(image_dir))
    missing = [f for split in files.values() for f in split if f not in on_disk]
    if missing:
        raise DatasetNotFoundError(
            f"CelebA: {len(missing)} images listed in {partition_file} are missing from {image_dir} "
            f"(e.g. {', '.join(missing[:3])}); re-extract img_align_celeba.zip, or rerun with "
            "data.download=true to download it when online."
        )

    def load(split: str) -> torch.Tensor:
        paths = [os.path.join(image_dir, f) for f in files[split]]
        try:
            return _decode_celeba(paths, size, f"CelebA {split}")
        except OSError as e:  # PIL's errors for truncated / non-JPEG files are OSErrors
            raise _unreadable("CelebA", image_dir, e) from e

    return Data(name=name, train=load("train"), test=load("test"))


class _CIFAR10Files(CIFAR10):
    """torchvision's CIFAR10 with presence checks in place of its md5 checks.

    torchvision verifies every batch file against the official md5 sums before loading, which
    rejects any re-packed or test copy of the standard pickle format. Clearing the sums
    (`check_integrity(path, None)` only tests that the file exists) keeps torchvision's own reader.
    Downloads still verify the archive's md5.
    """

    train_list = [[f, None] for f, _ in CIFAR10.train_list]
    test_list = [[f, None] for f, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, "md5": None}


def _idx_dataset(cls: type[MNIST], label: str, name: str, root: str, download: bool) -> Data:
    root = _expand(root)
    raw = os.path.join(root, cls.__name__, "raw")
    expected = [os.path.join(raw, f + ".gz") for f in _IDX_FILES]

    def present() -> bool:
        _gunzip_missing(raw)  # .gz-only copies become readable here
        return all(os.path.isfile(os.path.join(raw, f)) for f in _IDX_FILES)

    if download and not present():
        _download(label, root, expected, lambda: cls(root, train=True, download=True))
    if not present():
        raise _not_found(
            label, root, expected, note="(or the same files decompressed, without .gz)"
        )
    try:
        train, test = cls(root, train=True), cls(root, train=False)
    except Exception as e:  # truncated IDX files fail with asserts / RuntimeErrors deep inside
        raise _unreadable(label, raw, e) from e
    return Data(
        name=name,
        train=train.data.unsqueeze(1).contiguous(),
        test=test.data.unsqueeze(1).contiguous(),
        train_labels=train.targets.to(torch.int64),
        test_labels=test.targets.to(torch.int64),
    )


def _gunzip_missing(raw: str) -> None:
    # torchvision's MNIST only reads the decompressed IDX files (its download step unpacks them), so
    # unpack any .gz that has no decompressed twin. Via a temporary file and an atomic rename, so
    # concurrent jobs sharing `root` never read a half-written file.
    for f in _IDX_FILES:
        target, gz = os.path.join(raw, f), os.path.join(raw, f + ".gz")
        if not os.path.isfile(target) and os.path.isfile(gz):
            try:
                with tempfile.TemporaryDirectory(dir=raw) as tmp:
                    os.replace(extract_archive(gz, tmp), target)
            except OSError as e:  # typically a read-only shared data directory
                raise DatasetNotFoundError(
                    f"{gz} must be decompressed next to itself (torchvision reads only {target}), "
                    f"but that failed ({type(e).__name__}: {e}). Decompress it there once "
                    "(gunzip -k), or copy the folder to a writable data.root."
                ) from e


def _read_partitions(path: str) -> dict[str, int]:
    partitions: dict[str, int] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not fields[1].isdigit():
                raise DatasetNotFoundError(f"CelebA: malformed line {lineno} in {path}: {line!r}")
            partitions[fields[0]] = int(fields[1])
    return partitions


def _decode_celeba(paths: list[str], size: int, desc: str) -> torch.Tensor:
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)

    def decode(i: int) -> None:
        with Image.open(paths[i]) as im:
            img = TF.center_crop(im.convert("RGB"), [_CELEBA_CROP])
        img = TF.resize(
            img, [size, size], interpolation=TF.InterpolationMode.BILINEAR, antialias=True
        )
        out[i] = TF.pil_to_tensor(img)

    # JPEG decoding releases the GIL, so threads give a near-linear speed-up on the ~200k files.
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        for _ in tqdm(pool.map(decode, range(len(paths))), total=len(paths), desc=desc, unit="img"):
            pass
    return out


def _expand(root: str) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def _download(label: str, root: str, expected: list[str], fetch: Callable[[], object]) -> None:
    try:
        fetch()
    except Exception as e:  # network, mirror, md5 and gdown errors all mean "could not download"
        raise DatasetNotFoundError(
            f"{label}: download into {root} failed ({type(e).__name__}: {e}). Check the network "
            f"connection, or place these files by hand and rerun with data.download=false:\n"
            + "\n".join(f"  {p}" for p in expected)
        ) from e


def _not_found(label: str, root: str, expected: list[str], note: str = "") -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{label} not found in {root}. Expected:\n"
        + "\n".join(f"  {p}" for p in expected)
        + (f"\n  {note}" if note else "")
        + "\nRerun with data.download=true (or dataset.download=true) to download it when online, "
        "or set data.root to the directory that holds these files."
    )


def _unreadable(label: str, where: str, err: Exception) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{label}: files in {where} could not be read ({type(err).__name__}: {err}); they may be "
        "truncated or corrupt. Delete them and rerun with data.download=true to download afresh."
    )
