"""gan-fid: inputs (folders, .npz images, .npz statistics), extractors, KID, and its user errors."""

from __future__ import annotations

import hashlib
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from benchmark.data.digits import digits
from benchmark.fid_cli import main
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.inception import ENV_VAR, calibrated_random_weights
from benchmark.metrics.stats import FeatureStats, RunningStats


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of gan-fid in this process."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def fid_line(out: str) -> float:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("FID: ")]
    return float(line.split()[1])


def images(n: int, seed: int, size: int = 8, channels: int = 3) -> np.ndarray:
    """n random uint8 images, (n, C, H, W)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8)


def write_folder(x: np.ndarray, folder: Path, rgb: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(x):
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        im = Image.fromarray(arr)
        (im.convert("RGB") if rgb else im).save(folder / f"{i:03d}.png")
    return folder


def raw_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID on the pixels / 255, computed here without the CLI."""
    def stats(x: np.ndarray) -> FeatureStats:
        rs = RunningStats(int(np.prod(x.shape[1:])))
        rs.update(torch.from_numpy(x).float().div(255).flatten(1))
        return rs.finalize()

    sa, sb = stats(a), stats(b)
    return frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)


@pytest.fixture
def two(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, Path, Path]:
    a, b = images(12, seed=0), images(12, seed=1)
    b[:, 0] //= 2  # a visible difference
    return a, b, write_folder(a, tmp_path / "a"), write_folder(b, tmp_path / "b")


# --- inputs ------------------------------------------------------------------------------------


def test_folders_raw_features_and_small_n_warning(capsys, two) -> None:
    a, b, da, db = two
    rc, out, err = run(capsys, da, db, "--features", "raw")
    assert rc == 0
    assert fid_line(out) == pytest.approx(raw_fid(a, b), rel=1e-12)
    # 12 samples of 192-d features: singular covariances, a warning, still a finite number.
    assert "unreliable" in err and "d=192" in err
    assert np.isfinite(fid_line(out))


def test_npz_layouts_equal_the_folder(capsys, two, tmp_path: Path) -> None:
    a, b, da, db = two
    _, out, _ = run(capsys, da, db, "--features", "raw")
    expected = fid_line(out)
    variants = {
        "nchw.npz": {"images": a},
        "nhwc.npz": {"images": a.transpose(0, 2, 3, 1)},
        "float.npz": {"arr_0": a.astype(np.float32) / np.float32(255)},  # the single array
    }
    for name, arrays in variants.items():
        np.savez(tmp_path / name, **arrays)
        rc, out, err = run(capsys, tmp_path / name, db, "--features", "raw")
        assert rc == 0, err
        assert fid_line(out) == expected, name


def test_save_stats_then_use_them(capsys, two, tmp_path: Path) -> None:
    a, b, da, db = two
    stats = tmp_path / "out" / "a_stats.npz"
    rc, out, err = run(capsys, da, "--features", "raw", "--save-stats", stats)  # B optional
    assert rc == 0 and "saved statistics of A" in err and "FID" not in out
    loaded = FeatureStats.load(stats)
    assert loaded.n == 12 and loaded.dim == 192
    with np.load(stats) as f:
        assert json.loads(str(f["extractor"]))["name"] == "raw"
    _, out, _ = run(capsys, db, da, "--features", "raw")
    direct = fid_line(out)
    rc, out, err = run(capsys, db, stats, "--features", "raw", "--json")
    res = json.loads(out)
    assert rc == 0 and res["fid"] == pytest.approx(direct, rel=1e-9)
    assert res["n_a"] == 12 and res["n_b"] == 12 and res["dim"] == 192 and res["features"] == "raw"
    assert any("unreliable" in w for w in res["warnings"])
    # Two statistics files need no extractor at all.
    rc, out, _ = run(capsys, stats, stats)
    assert rc == 0 and fid_line(out) == 0.0
    # Statistics recorded with another extractor of the same dimension: said, not refused.
    other = tmp_path / "other.npz"
    np.savez(other, mu=loaded.mu, sigma=loaded.sigma, n=loaded.n, extractor=json.dumps({"name": "x"}))
    rc, out, err = run(capsys, db, other, "--features", "raw")
    assert rc == 0 and "different extractors" in err and fid_line(out) == pytest.approx(direct, rel=1e-9)


def test_grayscale_saved_as_rgb_matches_grayscale(capsys, tmp_path: Path) -> None:
    g = images(10, seed=3, channels=1)
    da = write_folder(g, tmp_path / "gray")
    db = write_folder(g, tmp_path / "rgb", rgb=True)  # what torchvision's save_image writes
    rc, out, err = run(capsys, da, db, "--features", "raw")
    assert rc == 0, err
    assert fid_line(out) == 0.0 and "d=64" in err


def test_num_samples(capsys, two) -> None:
    a, b, da, db = two
    rc, out, _ = run(capsys, da, db, "--features", "raw", "--num-samples", "5", "--json")
    res = json.loads(out)
    assert rc == 0 and res["n_a"] == res["n_b"] == 5
    assert res["fid"] == pytest.approx(raw_fid(a[:5], b[:5]), rel=1e-12)
    rc, _, err = run(capsys, da, db, "--features", "raw", "--num-samples", "13")
    assert rc == 2 and "fewer than --num-samples 13" in err


# --- user errors: one line, exit status 2, no traceback -----------------------------------------


def _error_cases(tmp: Path) -> dict[str, tuple[list[str | Path], str]]:
    good = write_folder(images(4, seed=0), tmp / "good")
    (tmp / "empty").mkdir()
    mixed = write_folder(images(2, seed=0), tmp / "mixed")
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(mixed / "z.png")
    single = write_folder(images(1, seed=0), tmp / "single")
    (tmp / "notes.txt").write_text("hello")
    np.savez(tmp / "two_arrays.npz", x=np.zeros(3), y=np.zeros(3))
    np.savez(tmp / "range.npz", images=np.full((4, 3, 8, 8), 2.0, np.float32))
    FeatureStats(mu=np.zeros(5), sigma=np.eye(5), n=10).save(tmp / "stats5.npz")
    return {
        "empty": ([good, tmp / "empty"], "no images"),
        "mixed sizes": ([good, mixed], "mismatched image sizes"),
        "one sample": ([good, single], "at least 2 samples"),
        "unknown type": ([good, tmp / "notes.txt"], "unknown file type '.txt'"),
        "missing": ([good, tmp / "nope"], "does not exist"),
        "npz keys": ([good, tmp / "two_arrays.npz"], "expected 'images'"),
        "float range": ([good, tmp / "range.npz"], "must lie in [0, 1]"),
        "stats dim": ([good, tmp / "stats5.npz", "--features", "raw"], "holds 5-d statistics but raw features are 192-d"),
        "stats dims": ([tmp / "stats5.npz", tmp / "stats5.npz", "--kid"], "--kid needs the features"),
        "no dataset": ([good, good, "--features", "classifier"], "needs --dataset"),
        "bad dataset": ([good, good, "--features", "classifier", "--dataset", "nope"], "Could not find 'dataset/nope'"),
        "raw sizes": ([good, write_folder(images(3, seed=0, size=4), tmp / "small"), "--features", "raw"],
                      "mismatched image sizes: A is (3, 8, 8), B is (3, 4, 4)"),
        "no B": ([good], "need two inputs"),
    }


def test_user_errors_exit_2_without_traceback(capsys, tmp_path: Path) -> None:
    for name, (argv, message) in _error_cases(tmp_path).items():
        rc, out, err = run(capsys, *argv)
        assert rc == 2, (name, err)
        assert err.startswith("gan-fid: error: ") and message in err, (name, err)
        assert "Traceback" not in err and out == "", name


# --- extractors --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Random FID-Inception weights with calibrated BatchNorm statistics (the real file is not
    # available offline); same file as tests/metrics/test_inception.py.
    path = tmp_path_factory.getbasetemp() / "inception-random-seed0.pth"
    if not path.exists():
        calibrated_random_weights(path, seed=0)
    return path


def test_inception_any_sizes_weights_from_env(capsys, tmp_path: Path, weights: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    da = write_folder(images(3, seed=0, size=12), tmp_path / "a")
    np.savez(tmp_path / "b.npz", images=images(3, seed=1, size=20, channels=1)[:, 0])  # (N, H, W)
    monkeypatch.setenv(ENV_VAR, str(weights))
    rc, out, err = run(capsys, da, tmp_path / "b.npz", "--json", "--batch-size", "2", "--device", "cpu")
    assert rc == 0, err
    res = json.loads(out)
    assert res["features"] == "inception" and res["dim"] == 2048 and res["fid"] > 0
    assert res["extractor"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert any("unreliable" in w for w in res["warnings"])


def test_inception_missing_weights_is_a_user_error(capsys, two, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    _, _, da, db = two
    rc, _, err = run(capsys, da, db)
    assert rc == 2 and "6726825d" in err and ENV_VAR in err and "Traceback" not in err


def test_classifier_through_the_dataset_config(capsys, tmp_path: Path,
                                               compose_cfg: Callable) -> None:
    data = digits(size=16)
    a, b = data.test[:40].numpy(), data.train[:40].numpy()
    da, db = write_folder(a, tmp_path / "a"), write_folder(b, tmp_path / "b", rgb=True)
    # 1 epoch: a cheap classifier, and a check that -o reaches the configs.
    args = ["--features", "classifier", "--dataset", "digits", "-o", "features.epochs=1"]
    rc, out, err = run(capsys, da, db, *args, "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["features"] == "classifier" and res["dim"] == 64
    assert res["extractor"]["train"]["epochs"] == 1 and res["extractor"]["data"] == "digits"
    # The same number from the harness's own extractor built from the same configs.
    f = instantiate(compose_cfg("features=classifier", "dataset=digits", "features.epochs=1").features,
                    data=data, device="cpu")
    sa, sb = RunningStats(64), RunningStats(64)
    sa.update(f(torch.from_numpy(a).float() / 255))
    sb.update(f(torch.from_numpy(b).float() / 255))
    ref = frechet_distance(sa.finalize().mu, sa.finalize().sigma, sb.finalize().mu, sb.finalize().sigma)
    assert res["fid"] == pytest.approx(ref, rel=1e-9)


# --- KID ---------------------------------------------------------------------------------------


def test_kid_unavailable_is_said_clearly(capsys, two, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "benchmark.metrics.kid", None)  # import fails
    _, _, da, db = two
    rc, out, err = run(capsys, da, db, "--features", "raw", "--kid")
    assert rc == 2 and "KID is unavailable" in err and out == ""


def test_kid_gets_both_feature_sets(capsys, two, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, da, db = two
    calls = []
    fake = types.ModuleType("benchmark.metrics.kid")
    fake.kid = lambda fa, fb: calls.append((fa.shape, fb.shape)) or (0.5, 0.25)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "benchmark.metrics.kid", fake)
    rc, out, _ = run(capsys, da, db, "--features", "raw", "--kid", "--num-samples", "10")
    assert rc == 0 and "KID: 0.5 ± 0.25" in out
    assert calls == [((10, 192), (10, 192))]


def test_kid_real_module(capsys, two) -> None:
    kid_module = pytest.importorskip("benchmark.metrics.kid")
    a, b, da, db = two
    rc, out, err = run(capsys, da, db, "--features", "raw", "--kid", "--json")
    assert rc == 0, err
    res = json.loads(out)
    fa, fb = (torch.from_numpy(x).float().div(255).flatten(1) for x in (a, b))
    assert (res["kid_mean"], res["kid_std"]) == kid_module.kid(fa, fb)  # A is the generated set


# --- FID-infinity ------------------------------------------------------------------------------


def test_fid_inf_extrapolates_from_subsets_of_a(capsys, tmp_path: Path) -> None:
    from benchmark.metrics.fid_inf import fid_infinity

    a, b = images(60, seed=2, size=4, channels=1), images(80, seed=3, size=4, channels=1)
    np.savez(tmp_path / "a.npz", images=a)
    np.savez(tmp_path / "b.npz", images=b)
    rc, out, err = run(capsys, tmp_path / "a.npz", tmp_path / "b.npz", "--features", "raw",
                       "--fid-inf", "--json")
    assert rc == 0, err
    res = json.loads(out)
    rs = RunningStats(16)
    rs.update(torch.from_numpy(b).float().div(255).flatten(1))
    ref = rs.finalize()
    expected = fid_infinity(torch.from_numpy(a).float().div(255).flatten(1), ref.mu, ref.sigma)
    assert res["fid_inf"] == pytest.approx(expected.value, rel=1e-6)  # B batched: other round-off
    assert res["fid_inf_ns"] == list(expected.ns) and res["fid_inf_ns"][-1] == 60
    assert res["fid"] == pytest.approx(raw_fid(a, b), rel=1e-9)

    rc, out, _ = run(capsys, tmp_path / "a.npz", tmp_path / "b.npz", "--features", "raw", "--fid-inf")
    assert rc == 0 and "FID-infinity: " in out and "(from 15 subsets of 12..60)" in out
    # A's statistics alone cannot be subsampled.
    run(capsys, tmp_path / "a.npz", "--features", "raw", "--save-stats", tmp_path / "sa.npz")
    rc, out, err = run(capsys, tmp_path / "sa.npz", tmp_path / "b.npz", "--fid-inf")
    assert rc == 2 and "--fid-inf needs A's features" in err and out == ""
