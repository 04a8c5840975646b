"""Inception-v3 pool features (2048-d): the FID of the paper, through torch-fidelity's TF-exact network.

The network, its TF1-style bilinear resize to 299x299 and its input normalisation are
torch-fidelity's own ``FeatureExtractorInceptionV3`` (feature ``'2048'``); this module only
converts our model-space images to the uint8 images that network expects, loads the weights
from a local file, and runs it faster on CPU (``channels_last``, inference mode) without
changing the numbers beyond float32 round-off.

Weights: the FID Inception checkpoint (TensorFlow's 2015-12-05 Inception converted to PyTorch,
the file pytorch-fid and torch-fidelity download), looked up in this order: the ``weights``
argument (config key ``features.weights``), ``$GANBENCH_INCEPTION_WEIGHTS``, then torch hub's
checkpoint cache ``torch.hub.get_dir()/checkpoints/`` under either library's file name.
Nothing is downloaded here.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from benchmark.data.base import Data
from benchmark.metrics.features import FeatureExtractor

__all__ = [
    "ENV_VAR",
    "EXPECTED_SHA256_PREFIX",
    "WEIGHTS_FILENAMES",
    "WEIGHTS_URL",
    "InceptionFeatures",
    "InceptionWeightsNotFoundError",
    "calibrated_random_weights",
    "resolve_weights",
    "to_uint8",
]

log = logging.getLogger(__name__)

ENV_VAR = "GANBENCH_INCEPTION_WEIGHTS"
# torch hub names files <name>-<first 8 hex digits of the file's sha256>.<ext>.
EXPECTED_SHA256_PREFIX = "6726825d"
# pytorch-fid's download name first, then torch-fidelity's (same network, same state-dict keys).
WEIGHTS_FILENAMES = (
    "pt_inception-2015-12-05-6726825d.pth",
    "weights-inception-2015-12-05-6726825d.pth",
)
WEIGHTS_URL = (  # what torch-fidelity downloads when given no weights path
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
PYTORCH_FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
FEATURE = "2048"  # torch-fidelity's name for the final average-pool features (FID's "pool3")


class InceptionWeightsNotFoundError(FileNotFoundError):
    """The FID Inception weights are not on disk (nothing is downloaded)."""


def _hub_candidates() -> list[Path]:
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    return [checkpoints / name for name in WEIGHTS_FILENAMES]


def resolve_weights(weights: str | os.PathLike[str] | None = None) -> Path:
    """Path of the weights file: ``weights``, else ``$GANBENCH_INCEPTION_WEIGHTS``, else torch hub's cache.

    Raises :class:`InceptionWeightsNotFoundError` naming where to put the file and where to get it.
    """
    for source, value in (("weights", weights), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise InceptionWeightsNotFoundError(
                    f"{source}={str(value)!r}: no such file. " + _where_to_get_it()
                )
            return path
    for path in _hub_candidates():
        if path.is_file():
            return path
    raise InceptionWeightsNotFoundError(
        f"FID Inception weights not found: features.weights and ${ENV_VAR} are unset and torch "
        f"hub's cache {_hub_candidates()[0].parent} has neither {' nor '.join(WEIGHTS_FILENAMES)}. "
        + _where_to_get_it()
    )


def _where_to_get_it() -> str:
    target = _hub_candidates()[1]
    return (
        f"On a machine with internet: `curl -L -o {target.name} {WEIGHTS_URL}` (torch-fidelity's "
        f"download; pytorch-fid's copy of the same network: {PYTORCH_FID_WEIGHTS_URL}), then put "
        f"it in {target.parent}/, or anywhere with ${ENV_VAR} or features.weights=PATH pointing "
        f"at it. Its SHA-256 starts with {EXPECTED_SHA256_PREFIX}."
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_uint8(x: Tensor) -> Tensor:
    """Model-space float images in [0, 1] → uint8, exactly as ``torchvision.utils.save_image`` does.

    ``floor(255 x + 0.5)`` after clamping to [0, 255] (round half up): the PNGs that
    torch-fidelity and pytorch-fid would read for these samples hold the same bytes. For images
    that came from uint8 (``u / 255``) it gives back ``u`` exactly. NaN becomes 0 (callers
    mark such samples themselves).
    """
    return x.mul(255).add_(0.5).clamp_(0, 255).nan_to_num_(0.0).to(torch.uint8)


def _load_state_dict(path: Path) -> tuple[dict[str, Tensor], str]:
    """(state dict, sha256 hex) of a weights file, unpickled with ``weights_only=True``."""
    raw = path.read_bytes()
    digest = _sha256(raw)
    try:
        # weights_only: a weights file must not be able to run code when loaded.
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path}: not a loadable PyTorch weights file ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return state, digest


def _build_network(state: dict[str, Tensor], path: Path) -> nn.Module:
    """torch-fidelity's FID Inception with ``state`` loaded (strict keys and shapes)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    # torch-fidelity only loads weights from a path or file object, unpickling it with
    # weights_only=False. Hand it a buffer serialised here from the tensors the restricted
    # loader accepted, so nothing pickled inside the user's file ever runs.
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    try:
        return FeatureExtractorInceptionV3(
            "inception-v3-compat", [FEATURE], feature_extractor_weights_path=buf
        )
    except RuntimeError as e:  # load_state_dict: missing/unexpected keys or wrong shapes
        raise ValueError(f"{path} does not hold FID Inception-v3 weights: {e}") from e


class InceptionFeatures(FeatureExtractor):
    """2048-d pool features of the FID Inception-v3 (torch-fidelity's ``'2048'``), as in the paper.

    Takes model-space float images in [0, 1], (B, 1|3, H, W) of any size: converted to uint8 with
    :func:`to_uint8`, grayscale tiled to 3 channels (as the study does for MNIST), then
    torch-fidelity's network (its TF1 bilinear resize to 299, ``(x - 128) / 128``). Features equal
    those of ``torch_fidelity.calculate_metrics`` on the same uint8 images: bit for bit with
    ``channels_last=False``, to ~3e-5 relative (float32 round-off) with the default.
    Samples with NaN/inf pixels get NaN features, so a diverged generator's FID is NaN.

    ``data`` fixes ``sample_shape`` (Hydra passes it); without it (``gan-fid``) ``sample_shape``
    may be given, or left ``None`` to accept any (B, 1|3, H, W). ``batch_size`` images go
    through the network at a time, which bounds memory (every image is resized to 299x299).
    ``channels_last=False`` runs torch-fidelity's network exactly as torch-fidelity does (same
    memory layout, so the same float32 bits); the default is the faster layout.
    """

    name = "inception"
    dim = 2048

    def __init__(
        self,
        data: Data | None = None,
        weights: str | os.PathLike[str] | None = None,
        batch_size: int = 50,
        device: str | torch.device = "cpu",
        sample_shape: Sequence[int] | None = None,
        channels_last: bool = True,
    ) -> None:
        if data is not None:
            if not isinstance(data, Data):
                raise TypeError(
                    f"expected a benchmark.data.base.Data, got {type(data).__name__} "
                    "(with hydra.utils.instantiate, set _convert_: object in the features config)"
                )
            if not data.is_image:
                raise ValueError("features=inception needs images; use features=raw for points")
            sample_shape = data.sample_shape
        if sample_shape is not None:
            sample_shape = tuple(int(s) for s in sample_shape)
            if len(sample_shape) != 3 or sample_shape[0] not in (1, 3):
                raise ValueError(f"inception features need (1|3, H, W) images, got sample shape {sample_shape}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.sample_shape = sample_shape  # type: ignore[assignment]  # None: any (1|3, H, W)
        self.batch_size = int(batch_size)
        self.device = torch.device(device)

        self.weights_path = resolve_weights(weights)
        state, self.weights_sha256 = _load_state_dict(self.weights_path)
        if not self.weights_sha256.startswith(EXPECTED_SHA256_PREFIX):
            log.warning(
                "%s has SHA-256 %s..., not the FID Inception weights (%s...): FID values will not "
                "be comparable with published ones", self.weights_path, self.weights_sha256[:16],
                EXPECTED_SHA256_PREFIX,
            )
        self.net = _build_network(state, self.weights_path)
        self.channels_last = bool(channels_last)
        if self.channels_last:
            # ~1.5x faster on CPU, nearly all of it in the pooling layers (docs/performance.md);
            # features change only by float32 round-off (~3e-5 relative).
            self.net.to(memory_format=torch.channels_last)
        self.net.to(self.device).eval().requires_grad_(False)

    def identity(self) -> dict[str, Any]:
        import torch_fidelity

        return {
            "name": self.name,
            "dim": self.dim,
            "network": f"torch-fidelity {torch_fidelity.__version__} FeatureExtractorInceptionV3",
            "feature": FEATURE,
            "input": "uint8 floor(255x+0.5), grayscale tiled to RGB, TF1 bilinear to 299",
            "weights_sha256": self.weights_sha256,
        }

    def weights_id(self) -> str:
        """SHA-256 of the weights file (the FID Inception's starts with 6726825d)."""
        return self.weights_sha256

    def to(self, device: str | torch.device) -> InceptionFeatures:
        super().to(device)
        self.net.to(self.device)
        return self

    def __call__(self, x: Tensor) -> Tensor:
        """(B, 1|3, H, W) float images in [0, 1] → (B, 2048) float32 features on ``self.device``."""
        if self.sample_shape is not None:
            return super().__call__(x)
        # Any image size is fine (the network resizes); otherwise the base class's checks.
        if not x.is_floating_point():
            raise ValueError(
                f"{self.name} features expect float samples in model space, got {x.dtype}; "
                "convert with benchmark.data.base.to_model_space"
            )
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images of shape (B, 1|3, H, W), got {tuple(x.shape)}")
        with torch.inference_mode():
            return self._extract(x.to(self.device, torch.float32))

    def _extract(self, x: Tensor) -> Tensor:
        finite = torch.isfinite(x).flatten(1).all(dim=1)
        images = to_uint8(x)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        feats = torch.cat([self.net(chunk)[0] for chunk in images.split(self.batch_size)])
        if not bool(finite.all()):
            feats[~finite] = float("nan")
        return feats


def calibrated_random_weights(path: str | os.PathLike[str], seed: int = 0, calibration_images: int = 4) -> Path:
    """Write random FID-Inception weights whose activations neither vanish nor explode; for offline tests.

    With random init and default BatchNorm statistics (mean 0, var 1) the pool features shrink
    towards ~1e-7 and comparisons prove nothing. So every BatchNorm's running statistics are
    re-estimated on random uint8 images passed through torch-fidelity's own forward (train-mode
    BN with cumulative averages: each layer normalised by the statistics it records). Not for
    real FID; the file's SHA-256 does not start with 6726825d.
    """
    from torchvision.models.inception import Inception3

    # torchvision's Inception3 without the aux head has exactly the FID network's state-dict
    # keys and shapes (the strict load in _build_network checks); "meta" skips its slow init.
    with torch.device("meta"):
        layout = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    g = torch.Generator().manual_seed(seed)
    state: dict[str, Tensor] = {}
    for key, t in layout.items():
        if t.ndim >= 2:  # conv / fc weights: He-normal
            fan_in = t[0].numel()
            state[key] = torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif key.endswith(("bn.weight", "running_var")):
            state[key] = torch.ones(t.shape, dtype=t.dtype)
        else:  # biases, running means, num_batches_tracked
            state[key] = torch.zeros(t.shape, dtype=t.dtype)
    net = _build_network(state, Path("<random>"))
    for bn in net.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batch
            bn.train()
    # Half pixel noise, half coarse 4x4-pixel blocks: two kinds of image so that the statistics
    # (and the features of either kind) stay in range for both.
    k = calibration_images // 2
    noise = torch.randint(0, 256, (calibration_images - k, 3, 32, 32), generator=g, dtype=torch.uint8)
    blocks = torch.randint(0, 256, (k, 3, 8, 8), generator=g, dtype=torch.uint8)
    images = torch.cat([noise, blocks.repeat_interleave(4, 2).repeat_interleave(4, 3)])
    with torch.no_grad():
        net(images)
    path = Path(path)
    torch.save({name: t.detach().clone() for name, t in net.state_dict().items()}, path)
    return path
