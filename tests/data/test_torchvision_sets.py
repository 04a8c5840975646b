"""Image datasets loaded from tiny copies of the real on-disk formats, through the users' code path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from benchmark.data import DatasetNotFoundError
from benchmark.data.torchvision_sets import (
    celeba,
    celeba_reference_files,
    cifar10,
    fashion_mnist,
    mnist,
    tf1_resize_bilinear,
)

IDX_SETS = [(mnist, "MNIST", "mnist"), (fashion_mnist, "FashionMNIST", "fashion_mnist")]
# The CelebA form used here before the study's became the default (see `celeba`).
OURS = {"crop": 140, "resize": "antialias", "reference_partition": "test", "reference_size": None}


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
    d = celeba(str(tmp_path), size=16, **OURS)
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
    d = celeba(str(tmp_path), size=8, **OURS)
    inner = d.train[0].float().mean(dim=(1, 2))
    assert torch.allclose(inner, torch.tensor(colours[0], dtype=torch.float32), atol=6)


def test_celeba_missing_image(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match="000002.jpg"):
        celeba(str(tmp_path), **OURS)


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
    d = celeba(str(tmp_path), size=8, **OURS)
    assert len(d.train) == 1 and len(d.test) == 1


def test_celeba_corrupt_jpeg(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetNotFoundError, match="corrupt"):
        celeba(str(tmp_path), size=8, **OURS)


def test_idx_gz_in_read_only_dir(
    tmp_path: Path, idx_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    idx_writer(tmp_path, "MNIST", n_train=2, n_test=2)

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr("tempfile.TemporaryDirectory", read_only)
    with pytest.raises(DatasetNotFoundError, match="gunzip"):
        mnist(str(tmp_path))


# ---------------------------------------------------------------- CelebA: the study's form


def _pattern_jpeg(path: Path, seed: int) -> np.ndarray:
    """Overwrite `path` with a 178x218 noise JPEG; return its pixels as PIL decodes them (HWC),
    the values the loader starts from."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=(218, 178, 3), dtype=np.uint8)).save(path, quality=100)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.float64)


def _tf1_bilinear_by_hand(pixels: np.ndarray, top: int, left: int, crop: int, size: int) -> np.ndarray:
    """compare_gan's unpack_celeba_image written out pixel by pixel: crop at (top, left), then TF
    1.x resize_bilinear (s = i * crop / size, lo = floor s, hi = min(lo + 1, crop - 1)), then
    rounded half to even (Python's round) as the loader stores uint8."""
    out = np.zeros((3, size, size))
    scale = crop / size
    for i in range(size):
        sy = i * scale
        y0 = int(math.floor(sy))
        y1, fy = min(y0 + 1, crop - 1), sy - y0
        for j in range(size):
            sx = j * scale
            x0 = int(math.floor(sx))
            x1, fx = min(x0 + 1, crop - 1), sx - x0
            for c in range(3):
                a, b = pixels[top + y0, left + x0, c], pixels[top + y0, left + x1, c]
                cc, d = pixels[top + y1, left + x0, c], pixels[top + y1, left + x1, c]
                t = a + (b - a) * fx
                u = cc + (d - cc) * fx
                out[c, i, j] = round(t + (u - t) * fy)
    return out


def test_celeba_study_crop_and_resize_by_hand(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 1])
    pixels = _pattern_jpeg(tmp_path / "celeba" / "img_align_celeba" / "000001.jpg", seed=3)
    d = celeba(str(tmp_path), reference_size=1)  # crop 160, tf1_bilinear, the valid image
    assert d.train.shape == (1, 3, 64, 64) and d.test.shape == (1, 3, 64, 64)
    got = d.train[0].numpy().astype(np.float64)
    # resize_image_with_crop_or_pad(160, 160) on 218x178: offsets (218-160)//2 = 29, (178-160)//2 = 9
    assert np.array_equal(got, _tf1_bilinear_by_hand(pixels, 29, 9, 160, 64))
    # A few cells spelled out. 160 -> 64: s = 2.5 i. Even i, j copy a pixel; odd ones average.
    assert np.array_equal(got[:, 0, 0], pixels[29, 9])
    assert np.array_equal(got[:, 2, 4], pixels[29 + 5, 9 + 10])
    # i = j = 1: s = 2.5 -> rows/cols 2 and 3 of the crop, weights 1/2 each: a 2x2 mean
    assert np.array_equal(got[:, 1, 1], np.round(pixels[31:33, 11:13].mean(axis=(0, 1))))
    # i = 63: s = 157.5 -> crop rows 157, 158 (image rows 186, 187); j = 0: crop column 0
    assert np.array_equal(got[:, 63, 0], np.round(pixels[186:188, 9].mean(axis=0)))


def test_celeba_ours_before_is_a_140_crop_with_antialiasing(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 2])
    path = tmp_path / "celeba" / "img_align_celeba" / "000001.jpg"
    _pattern_jpeg(path, seed=4)
    d = celeba(str(tmp_path), **OURS)
    with Image.open(path) as im:
        crop = im.convert("RGB").crop((19, 39, 19 + 140, 39 + 140))  # (178-140)/2, (218-140)/2
    want = torch.from_numpy(np.array(crop.resize((64, 64), Image.Resampling.BILINEAR)))
    # PIL's bilinear resize is antialiased (its filter widens with the scale), as torchvision's
    # antialias=True; the two implementations may differ by a grey level or so.
    assert (d.train[0].permute(1, 2, 0).int() - want.int()).abs().max() <= 2
    assert len(d.test) == 1  # all of partition 2


def test_tf1_resize_bilinear_by_hand() -> None:
    x = torch.arange(25, dtype=torch.float32).reshape(1, 5, 5)  # x[r, c] = 5 r + c
    # 5 -> 2: s = 0, 2.5. (0, 0) = x[0, 0]; (0, 1) = (x[0, 2] + x[0, 3]) / 2;
    # (1, 1) = the mean of x[2:4, 2:4] = (12 + 13 + 17 + 18) / 4
    assert tf1_resize_bilinear(x, 2).tolist() == [[[0.0, 2.5], [12.5, 15.0]]]
    # 3 -> 4: s = 0, 0.75, 1.5, 2.25; at s = 2.25, lo = 2 and hi = min(3, 2) = 2 (no ramp off
    # the edge). Row 0 of x = [0, 1, 2]: 0, 0.75, 1.5, 2.
    y = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]])
    assert tf1_resize_bilinear(y, 4)[0, 0].tolist() == [0.0, 0.75, 1.5, 2.0]
    assert tf1_resize_bilinear(y, 4)[0, :, 0].tolist() == [0.0, 2.25, 4.5, 6.0]


def test_celeba_reference_files_in_t2t_shard_order() -> None:
    # tensor2tensor deals the dev files to 10 shards in turn (file p to shard p % 10); reading the
    # shards one after the other gives positions 0, 10, 20, 1, 11, 21, 2, ...
    names = [f"{i:06d}.jpg" for i in range(25)]
    assert celeba_reference_files(names, 7, "t2t_shards") == [
        names[p] for p in (0, 10, 20, 1, 11, 21, 2)]
    assert celeba_reference_files(names, 3, "file") == names[:3]
    assert celeba_reference_files(names, None, "file") == names
    assert sorted(celeba_reference_files(names, None, "t2t_shards")) == names
    # The study's numbers: 19,867 validation files -> shards 0-6 hold 1,987, shards 7-9 1,986; the
    # first 10,000 are shards 0-4 (9,935 files) and 65 of shard 5.
    big = celeba_reference_files(list(range(19_867)), 10_000, "t2t_shards")
    shards = [p % 10 for p in big]
    assert [shards.count(k) for k in range(6)] == [1987] * 5 + [65]
    with pytest.raises(ValueError, match="reference_size"):
        celeba_reference_files(names, 26, "file")


def test_celeba_reference_subset_end_to_end(tmp_path: Path, celeba_writer) -> None:
    # 1 train image, 12 validation images (files 000002..000013), 1 test image
    colours = celeba_writer(tmp_path, [0] + [1] * 12 + [2])

    def means(d) -> torch.Tensor:
        return d.test.float().mean(dim=(2, 3))

    shards = celeba(str(tmp_path), size=8, reference_size=3)
    # validation positions 0, 10, 1 -> files 000002, 000012, 000003 -> colours[1], [11], [2]
    want = torch.tensor([colours[i] for i in (1, 11, 2)], dtype=torch.float32)
    assert torch.allclose(means(shards), want, atol=4)  # flat JPEG colours, lossy
    first = celeba(str(tmp_path), size=8, reference_size=3, reference_order="file")
    want = torch.tensor([colours[i] for i in (1, 2, 3)], dtype=torch.float32)
    assert torch.allclose(means(first), want, atol=4)
    ours = celeba(str(tmp_path), size=8, **OURS)
    assert len(ours.test) == 1 and torch.allclose(means(ours)[0], torch.tensor(colours[13],
                                                                                dtype=torch.float32), atol=4)


def test_celeba_study_form_does_not_need_test_images(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 1, 2])
    (tmp_path / "celeba" / "img_align_celeba" / "000003.jpg").unlink()  # the test image
    d = celeba(str(tmp_path), size=8, reference_size=1)
    assert len(d.train) == 1 and len(d.test) == 1


def test_celeba_too_few_reference_images(tmp_path: Path, celeba_writer) -> None:
    celeba_writer(tmp_path, [0, 1])
    with pytest.raises(ValueError, match="reference_size=10000.*valid partition lists 1"):
        celeba(str(tmp_path))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"crop": 200}, "crop"), ({"crop": 100, "size": 120}, "size"), ({"resize": "nearest"}, "resize"),
    ({"reference_partition": "train"}, "reference_partition"), ({"reference_size": 0}, "reference_size"),
    ({"reference_order": "random"}, "reference_order"),
])
def test_celeba_bad_options(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        celeba(str(tmp_path), **kwargs)


def test_celeba_config_defaults_to_the_study(tmp_path: Path) -> None:
    import inspect

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(__file__).resolve().parents[2] / "conf" / "dataset" / "celeba.yaml")
    study = {"crop": 160, "resize": "tf1_bilinear", "reference_partition": "valid",
             "reference_size": 10000, "reference_order": "t2t_shards", "size": 64}
    assert {k: cfg[k] for k in study} == study
    defaults = {k: p.default for k, p in inspect.signature(celeba).parameters.items()}
    assert {k: defaults[k] for k in study} == study
