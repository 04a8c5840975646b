"""Feature extractors for FID: raw samples (toys) or a dataset-specific classifier (images).

Built by Hydra: ``instantiate(cfg.features, data=data, device=device)``. The configs set
``_convert_: object`` so that ``data`` arrives as a :class:`Data`, not a DictConfig.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from benchmark.data.base import Data
from benchmark.metrics import classifier
from benchmark.metrics.cache import cache_dir, cache_key, compute_once

__all__ = ["ClassifierFeatures", "FeatureExtractor", "RawFeatures", "state_dict_hash"]

log = logging.getLogger(__name__)


class FeatureExtractor(ABC):
    """Maps a batch in model space (float; images in [0, 1]) to (B, dim) float features."""

    name: str
    dim: int
    sample_shape: tuple[int, ...]
    device: torch.device

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """JSON-able description of everything that defines the features (for cache keys/records)."""

    @abstractmethod
    def _extract(self, x: Tensor) -> Tensor:
        """Features of a validated float batch already on ``self.device``."""

    def short_id(self) -> str:
        """16-hex-char hash of :meth:`identity`."""
        return cache_key(self.identity())

    def weights_id(self) -> str:
        """Hash of the network weights behind the features, recorded with every metric;
        "none" for extractors without weights."""
        return "none"

    def to(self, device: str | torch.device) -> FeatureExtractor:
        """Compute features on ``device`` from now on; returns self."""
        self.device = torch.device(device)
        return self

    def __call__(self, x: Tensor) -> Tensor:
        """(B, *sample_shape) float batch → (B, dim) float32 features on ``self.device``."""
        if not x.is_floating_point():
            # Catch raw uint8 images: their features would silently be on a 255x scale.
            raise ValueError(
                f"{self.name} features expect float samples in model space, got {x.dtype}; "
                "convert with benchmark.data.base.to_model_space"
            )
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"expected samples of shape (B, *{self.sample_shape}), got {tuple(x.shape)}")
        with torch.inference_mode():
            return self._extract(x.to(self.device, torch.float32))


def _check_data(data: Any) -> Data:
    if not isinstance(data, Data):
        raise TypeError(
            f"expected a benchmark.data.base.Data, got {type(data).__name__} "
            "(with hydra.utils.instantiate, set _convert_: object in the features config)"
        )
    return data


class RawFeatures(FeatureExtractor):
    """The samples themselves, flattened: (B, *shape) → (B, prod(shape)). For the 2-D toys."""

    name = "raw"

    def __init__(self, data: Data, device: str | torch.device = "cpu") -> None:
        data = _check_data(data)
        self.sample_shape = tuple(data.sample_shape)
        self.dim = math.prod(self.sample_shape)
        self.device = torch.device(device)

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "sample_shape": list(self.sample_shape)}

    def _extract(self, x: Tensor) -> Tensor:
        return x.flatten(1)


def state_dict_hash(state: dict[str, Tensor]) -> str:
    """sha256 (16 hex chars) over names, shapes, dtypes and bytes of the tensors, in name order.

    Hashes the values rather than a ``torch.save`` file, whose bytes also depend on
    serialisation details.
    """
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]


def _save_checkpoint(ckpt: dict[str, Any], path: Path) -> None:
    torch.save(ckpt, path)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    # weights_only: a cache file must not be able to run code when loaded.
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{path} is not a classifier checkpoint")
    return ckpt


class ClassifierFeatures(FeatureExtractor):
    """Penultimate-layer features of a LeNet trained on the data's train split (see classifier.py).

    Trained once per (data fingerprint, architecture, training hyperparameters, seed) and
    cached under ``<cache>/classifiers/``; later runs load it. Its test accuracy is logged,
    stored in the checkpoint and the sidecar JSON, and available as ``test_accuracy``.
    Training is bitwise reproducible from ``seed`` on the same device and thread count (float
    reduction order differs across them); whichever run trains first fills the cache.
    """

    name = "classifier"

    def __init__(
        self,
        data: Data,
        seed: int = 0,
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 1e-3,
        feature_dim: int = 64,
        device: str | torch.device = "cpu",
    ) -> None:
        data = _check_data(data)
        if not data.is_image or data.train_labels is None:
            raise ValueError("features=classifier needs labelled images; use features=raw for points")
        num_classes = data.num_classes
        assert num_classes is not None  # labelled
        self.sample_shape = tuple(data.sample_shape)
        self.dim = int(feature_dim)
        self.device = torch.device(device)
        self.arch = {
            "arch": classifier.ARCH_VERSION,
            "in_channels": int(self.sample_shape[0]),
            "num_classes": int(num_classes),
            "feature_dim": self.dim,
            "widths": [32, 64],
            "pool": 4,
        }
        self.fields = {
            "kind": "classifier",
            "data": data.name,
            "data_fingerprint": data.fingerprint(),
            "arch": self.arch,
            "train": {"optimizer": "adam", "loss": "cross_entropy", "epochs": int(epochs),
                      "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed)},
        }
        self.key = cache_key(self.fields)
        self.path = cache_dir() / "classifiers" / f"{data.name}-{self.key}.pt"

        ckpt = compute_once(
            self.path,
            compute=lambda: self._train(data),
            save=_save_checkpoint,
            load=_load_checkpoint,
            fields=self.fields,
            describe=lambda c: {"test_accuracy": c["test_accuracy"], "train_seconds": c["train_seconds"],
                                "weights_sha256": state_dict_hash(c["state_dict"])},
        )
        self.net = self._new_net()
        self.net.load_state_dict(ckpt["state_dict"])
        self.net.to(self.device).eval().requires_grad_(False)
        self.weights_hash = state_dict_hash(self.net.state_dict())
        self.test_accuracy: float | None = ckpt.get("test_accuracy")
        acc = "n/a" if self.test_accuracy is None else f"{self.test_accuracy:.4f}"
        log.info("classifier features for %s: test accuracy %s (%s)", data.name, acc, self.path)

    def _new_net(self) -> classifier.LeNet:
        a = self.arch
        return classifier.build_classifier(
            a["in_channels"], a["num_classes"], seed=self.fields["train"]["seed"],
            feature_dim=a["feature_dim"], widths=tuple(a["widths"]), pool=a["pool"],
        )

    def _train(self, data: Data) -> dict[str, Any]:
        t = self.fields["train"]
        start = time.perf_counter()
        net = classifier.train_classifier(
            self._new_net(), data.train, data.train_labels,
            epochs=t["epochs"], batch_size=t["batch_size"], lr=t["lr"], seed=t["seed"],
            device=self.device,
        )
        seconds = time.perf_counter() - start
        acc = None
        if data.test_labels is not None and data.test.shape[0] > 0:
            acc = classifier.evaluate_accuracy(net, data.test, data.test_labels, device=self.device)
        log.info("trained classifier on %s in %.1fs: test accuracy %s", data.name, seconds, acc)
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        return {"state_dict": state, "test_accuracy": acc, "train_seconds": seconds}

    def to(self, device: str | torch.device) -> ClassifierFeatures:
        super().to(device)
        self.net.to(self.device)
        return self

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "key": self.key, **self.fields,
                "weights_sha256": self.weights_hash}

    def weights_id(self) -> str:
        # The trained weights, not only the recipe: training is reproducible only on the same
        # device and thread count, so two caches can hold different classifiers for one key.
        return self.weights_hash

    def _extract(self, x: Tensor) -> Tensor:
        return self.net.features(x)
