"""InceptionFeatures: torch-fidelity's FID Inception, checked against torch-fidelity and pytorch-fid.

The real weights (pt_inception-2015-12-05-6726825d.pth) are not available offline, so these
tests use random weights in the same state-dict layout (``calibrated_random_weights``): with
random init and default BatchNorm statistics the pool features would shrink to ~1e-7 and a
comparison would prove nothing, so every BatchNorm's statistics are re-estimated on random
images first; the features here have std ~0.1 per dimension.

Measured on 10 + 10 random 32x32 RGB images (noise vs coarse blocks; CPU, float32):

- ours vs ``torch_fidelity.calculate_metrics`` on the same images written as PNG folders, same
  weights: with ``channels_last=False`` the features are bit-identical (relative error 0) and the
  FID agrees to ~5e-8 relative (float32 vs float64 means, another float64 Fréchet formula);
  with the default ``channels_last=True`` the features differ by ~3e-5 relative (float32
  round-off of another convolution algorithm; torch-fidelity's own float32 forward is ~9e-5
  from a float64 one, measured by casting its module to float64 by hand: its
  ``feature_extractor_internal_dtype="float64"`` silently maps to float32 in 0.4.0) and the
  FID by ~5e-7 relative.
- pytorch-fid 0.3.0: its FID Inception has exactly the same state-dict keys and shapes (the same
  file loads strictly into both). Given torch-fidelity's preprocessed 299x299 input, its network
  gives our features bit for bit: same network, same weights. End to end the two libraries
  differ by their preprocessing only: pytorch-fid resizes with
  ``F.interpolate(bilinear, align_corners=False)`` (TF1's resize samples at ``i * in/out``
  without the half-pixel offset) and normalises ``2x - 1`` instead of ``(x - 128) / 128``; on
  these 32x32 images (9.3x upsampling) the features then differ by ~34% relative and the FID
  (231.78 vs 234.46) by ~1.2%. Published FIDs follow TF1; torch-fidelity, and so ganbench,
  reproduces it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from benchmark.data.base import Data, to_model_space
from benchmark.metrics.evaluator import Evaluator
from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.inception import (
    ENV_VAR,
    EXPECTED_SHA256_PREFIX,
    WEIGHTS_FILENAMES,
    WEIGHTS_URL,
    InceptionFeatures,
    InceptionWeightsNotFoundError,
    calibrated_random_weights,
    resolve_weights,
    to_uint8,
)
from benchmark.metrics.stats import FeatureStats, RunningStats

N = 10  # images per set: Inception runs at ~5-20 images/s on a small CPU


def rel(a: torch.Tensor | float, b: torch.Tensor | float) -> float:
    """Relative error ||a - b|| / ||b||."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


def stats_of(feats: torch.Tensor) -> FeatureStats:
    rs = RunningStats(feats.shape[1])
    rs.update(feats)
    return rs.finalize()


def fid_of(a: torch.Tensor, b: torch.Tensor) -> float:
    sa, sb = stats_of(a), stats_of(b)
    return frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)


def write_pngs(x: torch.Tensor, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, img in enumerate(x):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="session")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One file per session, shared with tests/test_fid_cli.py (same name, same seed).
    path = tmp_path_factory.getbasetemp() / "inception-random-seed0.pth"
    if not path.exists():
        calibrated_random_weights(path, seed=0)
    return path


@pytest.fixture(scope="module")
def fast(weights: Path) -> InceptionFeatures:
    return InceptionFeatures(weights=weights)


@pytest.fixture(scope="module")
def exact(weights: Path) -> InceptionFeatures:
    return InceptionFeatures(weights=weights, channels_last=False)


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    """(A, B): N pixel-noise images and N images of coarse 4x4 blocks, uint8 (N, 3, 32, 32)."""
    g = torch.Generator().manual_seed(1)
    a = torch.randint(0, 256, (N, 3, 32, 32), generator=g, dtype=torch.uint8)
    b = torch.randint(0, 256, (N, 3, 8, 8), generator=g, dtype=torch.uint8)
    return a, b.repeat_interleave(4, 2).repeat_interleave(4, 3)


@pytest.fixture(scope="module")
def exact_feats(exact: InceptionFeatures, images: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = images
    return exact(to_model_space(a)), exact(to_model_space(b))


# --- uint8 conversion ----------------------------------------------------------------------


def test_to_uint8_inverts_model_space_and_matches_save_image(tmp_path: Path) -> None:
    from torchvision.utils import save_image

    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(to_model_space(u)), u)
    # Generated floats, including exact ties k + 0.5: the bytes save_image writes to PNG.
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 16, 16, generator=g)
    x[0, 0, :8] = (torch.arange(8) + 0.5) / 255
    save_image(x, tmp_path / "x.png")
    png = torch.from_numpy(np.array(Image.open(tmp_path / "x.png"))).permute(2, 0, 1)
    assert torch.equal(to_uint8(x), png)
    assert to_uint8(torch.tensor([-0.2, 1.3, float("nan")])).tolist() == [0, 255, 0]


# --- weights -------------------------------------------------------------------------------


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No env var, and an empty torch hub dir; returns its checkpoints folder."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = Path(torch.hub.get_dir())
    if not hub.is_relative_to(tmp_path):
        pytest.skip("torch.hub.set_dir() was called in this process; TORCH_HOME is ignored")
    return hub / "checkpoints"


def test_missing_weights_error_says_where_and_what(no_weights: Path) -> None:
    with pytest.raises(InceptionWeightsNotFoundError) as e:
        resolve_weights()
    msg = str(e.value)
    for part in (*WEIGHTS_FILENAMES, WEIGHTS_URL, EXPECTED_SHA256_PREFIX, ENV_VAR,
                 "features.weights", str(no_weights)):
        assert part in msg
    with pytest.raises(InceptionWeightsNotFoundError, match=r"nowhere.pth'?: no such file"):
        InceptionFeatures(weights=no_weights / "nowhere.pth")


def test_weights_lookup_order(no_weights: Path, weights: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    no_weights.mkdir(parents=True)
    hub_file = no_weights / WEIGHTS_FILENAMES[1]  # torch-fidelity's download name
    shutil.copy(weights, hub_file)
    assert resolve_weights() == hub_file
    env_file = shutil.copy(weights, tmp_path / "env.pth")
    monkeypatch.setenv(ENV_VAR, str(env_file))
    assert resolve_weights() == Path(env_file)
    assert resolve_weights(weights) == weights  # the argument / config key wins
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.pth"))
    with pytest.raises(InceptionWeightsNotFoundError, match=ENV_VAR):
        resolve_weights()


def test_bad_weights_files_are_refused(tmp_path: Path) -> None:
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="does not hold FID Inception-v3 weights"):
        InceptionFeatures(weights=tmp_path / "other.pth")
    # weights_only=True: a pickle of arbitrary objects is not unpickled.
    torch.save({"x": Path("/")}, tmp_path / "code.pth")
    with pytest.raises(ValueError, match="not a loadable"):
        InceptionFeatures(weights=tmp_path / "code.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a loadable"):
        InceptionFeatures(weights=tmp_path / "junk.pth")


# --- exactness -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:FID estimate unreliable")
def test_matches_torch_fidelity_calculate_metrics(
    fast: InceptionFeatures, exact_feats: tuple[torch.Tensor, torch.Tensor], weights: Path,
    images: tuple[torch.Tensor, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch_fidelity
    from torch_fidelity import metric_fid

    a, b = images
    # torch-fidelity's side: PNG folders through calculate_metrics; its features are captured
    # on their way into its own statistics.
    captured: list[torch.Tensor] = []
    to_stats: Callable = metric_fid.fid_features_to_statistics

    def capture(features: torch.Tensor) -> dict:
        captured.append(features.clone())
        return to_stats(features)

    monkeypatch.setattr(metric_fid, "fid_features_to_statistics", capture)
    theirs = torch_fidelity.calculate_metrics(
        input1=str(write_pngs(b, tmp_path / "b")), input2=str(write_pngs(a, tmp_path / "a")),
        fid=True, feature_extractor_weights_path=str(weights), cuda=False, cache=False,
        verbose=False, save_cpu_ram=True,
    )["frechet_inception_distance"]
    tf_b, tf_a = captured  # input1, input2; files are read in sorted order

    # Ours: the harness's FID (reference = test split A, generated = B) with the default
    # extractor, whose features are recorded on the way.
    seen: list[torch.Tensor] = []
    extract = fast._extract

    def record(x: torch.Tensor) -> torch.Tensor:
        seen.append(extract(x))
        return seen[-1]

    monkeypatch.setattr(fast, "_extract", record)
    data = Data(name="inception-exactness", train=a, test=a)
    ev = Evaluator(data, fast, ["fid"], num_samples=N, batch_size=N)
    ev.prepare()  # the reference (test split) first, then the real-vs-real floor's train sample
    fast_a = seen[0]
    ours = ev(lambda n: to_model_space(b[:n]))
    fast_b = seen[-1]  # generated
    exact_a, exact_b = exact_feats

    # Not vanishing: the comparison below would be vacuous with ~1e-7 features.
    assert float(exact_a.std(0).mean()) > 1e-3 and float(exact_b.std(0).mean()) > 1e-3
    assert theirs > 10.0
    assert rel(exact_a, tf_a) < 1e-5 and rel(exact_b, tf_b) < 1e-5
    assert rel(fast_a, exact_a) < 1e-4 and rel(fast_b, exact_b) < 1e-4
    assert abs(ours["fid"] - theirs) / theirs < 1e-5
    assert abs(fid_of(exact_b, exact_a) - theirs) / theirs < 1e-5
    assert ours["extractor"] == "inception" and ours["n_gen"] == ours["n_real"] == N
    print(f"\nfeatures exact vs torch-fidelity: {max(rel(exact_a, tf_a), rel(exact_b, tf_b)):.2e}, "
          f"channels_last vs exact: {max(rel(fast_a, exact_a), rel(fast_b, exact_b)):.2e}; "
          f"FID torch-fidelity {theirs:.6f}, ours {ours['fid']:.6f} "
          f"(rel {abs(ours['fid'] - theirs) / theirs:.2e}), exact-mode rel "
          f"{abs(fid_of(exact_b, exact_a) - theirs) / theirs:.2e}")


def test_pytorch_fid_same_network_different_resize(
    exact_feats: tuple[torch.Tensor, torch.Tensor], weights: Path,
    images: tuple[torch.Tensor, torch.Tensor], monkeypatch: pytest.MonkeyPatch,
) -> None:
    pfi = pytest.importorskip("pytorch_fid.inception")
    from torch_fidelity.interpolate_compat_tensorflow import (
        interpolate_bilinear_2d_like_tensorflow1x,
    )

    state = torch.load(weights, map_location="cpu", weights_only=True)
    # pytorch-fid always fetches its weights by URL; hand it the same state dict. Its
    # load_state_dict is strict: the two libraries' layouts are identical.
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda *args, **kwargs: state)
    net = pfi.InceptionV3([3], use_fid_inception=True).eval()

    a, b = images
    with torch.no_grad():
        # Same network: pytorch-fid's blocks on torch-fidelity's preprocessing.
        x = interpolate_bilinear_2d_like_tensorflow1x(a[:4].float(), size=(299, 299), align_corners=False)
        net.resize_input = net.normalize_input = False
        same_input = net((x - 128) / 128)[0].flatten(1)
        net.resize_input = net.normalize_input = True
        # End to end as pytorch-fid reads PNGs: ToTensor's x / 255, its own resize and scaling
        # (channels_last only for speed: its ~3e-5 round-off is nothing next to the resize's).
        net.to(memory_format=torch.channels_last)
        pf_a, pf_b = (net(u.float() / 255)[0].flatten(1) for u in (a, b))
    ours_a, ours_b = exact_feats

    assert rel(same_input, ours_a[:4]) < 1e-5
    feat_diff = max(rel(pf_a, ours_a), rel(pf_b, ours_b))
    fid_ours, fid_pf = fid_of(ours_b, ours_a), fid_of(pf_b, pf_a)
    fid_diff = abs(fid_pf - fid_ours) / fid_ours
    assert 1e-3 < feat_diff < 1.0  # different resizes: clearly different, same ballpark
    assert fid_diff < 0.5
    print(f"\npytorch-fid: same input rel {rel(same_input, ours_a[:4]):.2e}; end to end features "
          f"rel {feat_diff:.3f}, FID {fid_pf:.4f} vs ours {fid_ours:.4f} (rel {fid_diff:.3f})")


# --- behaviour -----------------------------------------------------------------------------


def test_grayscale_is_tiled_and_nan_samples_give_nan(fast: InceptionFeatures) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 1, 20, 20, generator=g)
    x[1, 0, 3, 4] = float("nan")
    feats = fast(x)
    tiled = fast(x[:1].expand(-1, 3, -1, -1))
    assert feats.shape == (2, 2048) and feats.dtype == torch.float32
    assert torch.isnan(feats[1]).all() and torch.isfinite(feats[0]).all()
    assert rel(feats[0], tiled[0]) < 1e-5  # batch of 2 vs 1: round-off only


def test_rejects_bad_inputs(fast: InceptionFeatures, weights: Path, digits16: Data) -> None:
    with pytest.raises(ValueError, match="to_model_space"):
        fast(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 1\|3, H, W\)"):
        fast(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="needs images"):
        InceptionFeatures(Data(name="pts", train=torch.zeros(4, 2), test=torch.zeros(4, 2)), weights=weights)
    with pytest.raises(TypeError, match="_convert_: object"):
        InceptionFeatures({"train": None}, weights=weights)  # type: ignore[arg-type]


def test_config_builds_it_and_identity_has_weights_hash(
    compose_cfg: Callable, weights: Path, digits16: Data
) -> None:
    cfg = compose_cfg("features=inception", f"features.weights={weights}")
    f = instantiate(cfg.features, data=digits16, device="cpu")
    assert isinstance(f, InceptionFeatures)
    assert f.sample_shape == (1, 16, 16) and f.dim == 2048
    assert f.batch_size == 50 and f.channels_last
    ident = f.identity()
    assert ident["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert f.weights_id() == ident["weights_sha256"]  # what every metrics row records
    assert ident["name"] == "inception" and "torch-fidelity" in ident["network"]
    assert len(f.short_id()) == 16 and f.to("cpu") is f
    with pytest.raises(ValueError, match="shape"):
        f(torch.zeros(1, 1, 8, 8))  # a Data fixes the sample shape, as for the other extractors
