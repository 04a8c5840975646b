"""MNIST, Fashion-MNIST, CIFAR-10 and CelebA, decoded once into uint8 tensors held in memory.

All loaders read the standard on-disk layouts that torchvision's dataset classes use, so a
`root` populated by torchvision (or by hand from the official archives) works unchanged:

- MNIST:          <root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
- Fashion-MNIST:  <root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
- CIFAR-10:       <root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
- CelebA:         <root>/celeba/img_align_celeba/*.jpg and <root>/celeba/list_eval_partition.txt
  (by default the study's form: 160x160 crop, TF 1.x bilinear resize, 10k validation images as
  the FID reference; see `celeba`)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
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
_CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}  # codes used in list_eval_partition.txt
_CELEBA_SIDE = 178  # img_align_celeba is 178 wide x 218 high: a square crop fits up to 178
# How a 64x64 image is made from the crop (see `celeba`).
CELEBA_RESIZES = ("tf1_bilinear", "antialias")
# Which reference images come first when only `reference_size` are taken (see `celeba`).
CELEBA_REFERENCE_ORDERS = ("t2t_shards", "file")
# tensor2tensor's CelebA problem writes its dev split to 10 shards, one example per shard in turn
# (generator_utils.generate_files@88be1116; `dev_shards` of image.py's image_celeba_tune).
_T2T_DEV_SHARDS = 10


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


def _check_celeba_options(crop: int, size: int, resize: str, reference_partition: str,
                          reference_order: str, reference_size: int | None) -> None:
    if not 1 <= crop <= _CELEBA_SIDE:
        raise ValueError(f"celeba crop must be in 1..{_CELEBA_SIDE} (the image width), got {crop}")
    if not 1 <= size <= crop:
        raise ValueError(f"celeba size must be in 1..{crop} (the centre crop), got {size}")
    if resize not in CELEBA_RESIZES:
        raise ValueError(f"celeba resize={resize!r} is not known; valid: {CELEBA_RESIZES}")
    if reference_partition not in ("valid", "test"):
        raise ValueError(f"celeba reference_partition={reference_partition!r} is not known; "
                         "valid: 'valid', 'test'")
    if reference_order not in CELEBA_REFERENCE_ORDERS:
        raise ValueError(f"celeba reference_order={reference_order!r} is not known; "
                         f"valid: {CELEBA_REFERENCE_ORDERS}")
    if reference_size is not None and reference_size < 1:
        raise ValueError(f"celeba reference_size must be >= 1 or null (all), got {reference_size}")


def celeba(
    root: str,
    download: bool = False,
    size: int = 64,
    *,
    crop: int = 160,
    resize: str = "tf1_bilinear",
    reference_partition: str = "valid",
    reference_size: int | None = 10_000,
    reference_order: str = "t2t_shards",
    name: str = "celeba",
) -> Data:
    """CelebA aligned faces (3 x size x size), unlabelled: train = partition 0 of
    `list_eval_partition.txt` (162,770 images); test (the FID reference slot) = the images
    `reference_*` pick. Every JPEG is decoded once (with a progress bar) into a uint8 tensor.

    The defaults are the study's (compare_gan v1 @49495fd):
    - crop=160, resize="tf1_bilinear": `gan_lib.unpack_celeba_image` centre-crops 160x160
      (tf.image.resize_image_with_crop_or_pad: offsets (218-160)//2, (178-160)//2 = 29, 9) and
      calls tf.image.resize_images(image, [64, 64]), whose default in TF 1.x is BILINEAR with
      align_corners=False and TF's legacy sampling grid: output pixel i reads input coordinate
          s = i * in/out,  lo = floor(s),  hi = min(lo + 1, in - 1),  f = s - lo,
          out = top + (bottom - top) f_y,  top = a + (b - a) f_x  (a, b: row lo; bottom: row hi)
      (no half-pixel offset, no antialiasing: from 160 to 64, s = 2.5 i, so even outputs copy a
      pixel and odd ones average two). The study keeps those floats; here they are rounded to
      the nearest grey level (half to even), at most 0.5/255 away.
    - reference: `eval_gan_lib.RunCheckpointEval` takes the first 10,000 records of the
      `image_celeba_tune-dev` shards, read in shard order. tensor2tensor built them (image.py
      @88be1116) from the 19,867 files after the first 162,770 of a glob of img_align_celeba,
      which is the validation partition when the glob lists names in order, dealt one per
      shard in turn over 10 shards, then shuffled within each shard. So the first 10,000 are
      shards 0-4 whole (partition positions p with p % 10 < 5: 9,935 images) and 65 of shard 5.
      reference_order="t2t_shards" orders the partition by (p % 10, p) and takes the first
      `reference_size`: the same 9,935 images and, for the 65 drawn at random from shard 5
      (an unseeded shuffle, not reproducible), its first 65 in name order.
    The options give the common GAN-protocol form used here before: crop=140,
    resize="antialias" (torchvision's bilinear resize with antialiasing),
    reference_partition="test", reference_size=None (all 19,962 test images).
    reference_order="file" takes the first `reference_size` of the partition in name order.

    Read directly rather than through torchvision's `CelebA`: that class also demands the four
    attribute/identity/bbox/landmark files and checks all annotation files against the official
    md5 sums, none of which a GAN needs. torchvision is still used to download when asked.
    """
    _check_celeba_options(crop, size, resize, reference_partition, reference_order,
                          reference_size)
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
    code = _CELEBA_PARTITIONS[reference_partition]
    files = {
        "train": [f for f, p in partitions.items() if p == _CELEBA_PARTITIONS["train"]],
        "test": celeba_reference_files(sorted(f for f, p in partitions.items() if p == code),
                                       reference_size, reference_order, reference_partition),
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
            return _decode_celeba(paths, size, crop, resize, f"CelebA {split}")
        except OSError as e:  # PIL's errors for truncated / non-JPEG files are OSErrors
            raise _unreadable("CelebA", image_dir, e) from e

    return Data(name=name, train=load("train"), test=load("test"))


def celeba_reference_files(
    files: list[str], size: int | None, order: str, partition: str = "valid"
) -> list[str]:
    """The reference images among a partition's `files` (in name order): the first `size`
    (all when None) in `order`: "file" (name order) or "t2t_shards" (position p sorted by
    (p % 10, p): tensor2tensor's 10 dev shards read one after the other, see `celeba`)."""
    if order == "t2t_shards":
        files = [files[p] for p in sorted(range(len(files)), key=lambda p: (p % _T2T_DEV_SHARDS, p))]
    if size is None:
        return files
    if size > len(files):
        raise ValueError(f"celeba reference_size={size}, but the {partition} partition lists "
                         f"{len(files)} images; lower it or set it to null (all)")
    return files[:size]


def tf1_resize_bilinear(image: torch.Tensor, size: int) -> torch.Tensor:
    """(C, H, W) -> (C, size, size) float32: TF 1.x `resize_bilinear` with align_corners=False
    and no half-pixel centres (the default of tf.image.resize_images then), in its float32
    arithmetic: for each axis of input length n, output index i reads s = i * (n / size),
    lo = floor(s), hi = min(lo + 1, n - 1), f = s - lo; then
        top = a + (b - a) f_x,  bottom = c + (d - c) f_x,  out = top + (bottom - top) f_y
    with a, b the row-lo pixels at columns lo, hi and c, d the row-hi ones."""

    def grid(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        scale = torch.tensor(n, dtype=torch.float32) / size
        s = torch.arange(size, dtype=torch.float32) * scale
        lo = s.floor().to(torch.int64)
        hi = (lo + 1).clamp(max=n - 1)
        return lo, hi, s - lo

    x = image.to(torch.float32)
    ylo, yhi, fy = grid(x.shape[1])
    xlo, xhi, fx = grid(x.shape[2])
    fy, fx = fy[:, None], fx[None, :]
    rows_lo, rows_hi = x[:, ylo], x[:, yhi]
    top = rows_lo[:, :, xlo] + (rows_lo[:, :, xhi] - rows_lo[:, :, xlo]) * fx
    bottom = rows_hi[:, :, xlo] + (rows_hi[:, :, xhi] - rows_hi[:, :, xlo]) * fx
    return top + (bottom - top) * fy


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


def _decode_celeba(
    paths: list[str], size: int, crop: int, resize: str, desc: str
) -> torch.Tensor:
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)

    def decode(i: int) -> None:
        with Image.open(paths[i]) as im:
            rgb = im.convert("RGB")
        if resize == "tf1_bilinear":
            # tf.image.resize_image_with_crop_or_pad: offset = (side - crop) // 2 (floor)
            hwc = np.asarray(rgb)
            top, left = (hwc.shape[0] - crop) // 2, (hwc.shape[1] - crop) // 2
            if top < 0 or left < 0:
                raise OSError(f"{paths[i]}: {hwc.shape[1]}x{hwc.shape[0]} is smaller than the "
                              f"{crop}x{crop} crop")
            chw = torch.from_numpy(hwc[top : top + crop, left : left + crop].copy()).permute(2, 0, 1)
            out[i] = tf1_resize_bilinear(chw, size).round().clamp(0, 255).to(torch.uint8)
        else:
            img = TF.center_crop(rgb, [crop])
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


# --- what a sweep's plan asks without decoding a file (benchmark/preflight.py) ---------------

# The formats' own sizes: one sample's shape and the train split's length, by builder.
_PLAN_SHAPES = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
_PLAN_TRAIN_SIZES = {"mnist": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000,
                     "celeba": 162_770}  # CelebA: partition 0 of list_eval_partition.txt


def plan_facts(builder: str, root: str, download: bool = False, size: int = 64,
               **_options: object) -> tuple[tuple[int, ...], int, str | None]:
    """(one sample's shape, the train split's length, why the files are not there or None) for
    `builder` of this module ("mnist", "fashion_mnist", "cifar10", "celeba") called with these
    config arguments, from the file layout alone: a plan checks thousands of jobs this way
    without reading a file. The reason is the builder's own "not found" message; None also when
    `download` will fetch the files."""
    root = _expand(root)
    note = ""
    if builder in ("mnist", "fashion_mnist"):
        cls, label = (MNIST, "MNIST") if builder == "mnist" else (FashionMNIST, "Fashion-MNIST")
        raw = os.path.join(root, cls.__name__, "raw")
        expected = [os.path.join(raw, f + ".gz") for f in _IDX_FILES]
        # as `_idx_dataset`: each file compressed or not
        present = all(os.path.isfile(p) or os.path.isfile(p[: -len(".gz")]) for p in expected)
        note = "(or the same files decompressed, without .gz)"
    elif builder == "cifar10":
        label, folder = "CIFAR-10", os.path.join(root, CIFAR10.base_folder)
        names = [f for f, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
        expected = [os.path.join(folder, f) for f in names]
        present = all(os.path.isfile(p) for p in expected)
    elif builder == "celeba":
        label, folder = "CelebA", os.path.join(root, CelebA.base_folder)
        image_dir = os.path.join(folder, "img_align_celeba")
        expected = [os.path.join(image_dir, "*.jpg"), os.path.join(folder, "list_eval_partition.txt")]
        present = os.path.isdir(image_dir) and os.path.isfile(expected[1])
    else:
        raise ValueError(f"{builder!r} is not a dataset builder of {__name__}")
    shape = _PLAN_SHAPES.get(builder, (3, size, size))
    problem = None if present or download else str(_not_found(label, root, expected, note=note))
    return shape, _PLAN_TRAIN_SIZES[builder], problem
