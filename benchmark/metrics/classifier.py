"""The small LeNet-like CNN whose penultimate layer gives FID features, and its training."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from benchmark.data.base import to_model_space

__all__ = ["ARCH_VERSION", "LeNet", "build_classifier", "evaluate_accuracy", "train_classifier"]

log = logging.getLogger(__name__)

# Bump when LeNet's definition changes: it is part of the cache key of trained weights.
ARCH_VERSION = "lenet-v1"


class LeNet(nn.Module):
    """conv3x3(w1)-ReLU-maxpool2 → conv3x3(w2)-ReLU-adaptive avgpool(pool×pool) → FC(feature_dim)
    → ReLU → FC(num_classes).

    Any channel count and any image size ≥ 8 (the adaptive pool fixes the FC input size).
    :meth:`features` is the penultimate layer *before* its ReLU: no dead (constant-zero)
    dimensions and closer to Gaussian, which is what the Fréchet distance assumes.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        feature_dim: int = 64,
        widths: tuple[int, int] = (32, 64),
        pool: int = 4,
    ) -> None:
        super().__init__()
        w1, w2 = widths
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, w1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w1, w2, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(pool),
            nn.Flatten(),
        )
        self.fc = nn.Linear(w2 * pool * pool, feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) images in [0, 1] → (B, feature_dim) penultimate pre-activations."""
        # Centre inputs to [-1, 1]: zero-mean inputs suit the default init.
        return self.fc(self.conv(x * 2.0 - 1.0))

    def forward(self, x: Tensor) -> Tensor:
        """Class logits (B, num_classes)."""
        return self.head(F.relu(self.features(x)))


def build_classifier(
    in_channels: int,
    num_classes: int,
    *,
    seed: int,
    feature_dim: int = 64,
    widths: tuple[int, int] = (32, 64),
    pool: int = 4,
) -> LeNet:
    """A freshly initialised LeNet, deterministic from ``seed`` (on CPU; move it afterwards)."""
    # fork_rng: seed the init without disturbing the caller's global RNG stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LeNet(in_channels, num_classes, feature_dim, widths, pool)


def train_classifier(
    model: LeNet,
    images: Tensor,
    labels: Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
) -> LeNet:
    """Train ``model`` in place with Adam(lr) on cross-entropy; returns it in eval mode.

    ``images``: uint8 (N, C, H, W) or float in [0, 1]; ``labels``: int64 (N,).
    Shuffling uses a ``torch.Generator`` seeded with ``seed`` so the result is reproducible.
    ``progress``: tqdm bar (None: only at a terminal).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    device = torch.device(device)
    model.to(device).train()
    images, labels = images.to(device), labels.to(device=device, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)  # CPU generator: same permutation on any device
    n = images.shape[0]
    # tqdm's disable=None means "only at a terminal".
    bar = tqdm(range(epochs), desc="classifier", unit="epoch",
               disable=None if progress is None else not progress)
    mean_loss = float("nan")
    for _ in bar:
        perm = torch.randperm(n, generator=gen).to(device)
        total = torch.zeros((), device=device)  # summed on device: no host sync per step
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(model(to_model_space(images[idx])), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * idx.numel()
        mean_loss = float(total) / n
        bar.set_postfix(loss=f"{mean_loss:.4f}")
    log.debug("classifier final epoch train loss %.4f", mean_loss)
    return model.eval()


@torch.inference_mode()
def evaluate_accuracy(
    model: LeNet, images: Tensor, labels: Tensor, *, batch_size: int = 500,
    device: str | torch.device = "cpu",
) -> float:
    """Fraction of ``images`` whose argmax logit equals ``labels``."""
    model.to(device).eval()
    correct = 0
    for i in range(0, images.shape[0], batch_size):
        x = to_model_space(images[i : i + batch_size].to(device))
        pred = model(x).argmax(dim=1)
        correct += int((pred == labels[i : i + batch_size].to(pred.device)).sum())
    return correct / max(images.shape[0], 1)
