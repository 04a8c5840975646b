"""4. Feeding 28x28 batches: BatchStream against a torchvision Dataset of PIL images + DataLoader.

Report only; the two must give bitwise the same batches in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmark.data.base import Data
from benchmark.data.loader import BatchStream
from perf.measure import Row, fmt_x, interleave, threads

BATCH = 64  # the study's


def fake_mnist(n_train: int, n_test: int, seed: int = 0) -> Data:
    """An MNIST-like Data in memory, no download: scikit-learn's digits at 28x28, drawn with
    replacement and shifted by up to 3 pixels each way, with their labels."""
    from benchmark.data.digits import digits

    base = digits(size=28)
    assert base.train_labels is not None and base.test_labels is not None
    pool = torch.cat([base.train, base.test])
    labels = torch.cat([base.train_labels, base.test_labels])
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    idx = torch.randint(0, len(pool), (n,), generator=g)
    x, y = pool[idx].clone(), labels[idx]
    shifts = torch.randint(-3, 4, (n, 2), generator=g)
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            x[sel] = torch.roll(x[sel], (dy, dx), dims=(2, 3))
    return Data(name="fake_mnist", train=x[:n_train].contiguous(), test=x[n_train:].contiguous(),
                train_labels=y[:n_train], test_labels=y[n_train:])


class PILImages(torch.utils.data.Dataset):
    """A torchvision-style dataset: uint8 images kept as a tensor, each item a PIL image through a
    per-image transform, exactly as torchvision.datasets.MNIST.__getitem__ does."""

    def __init__(self, x: torch.Tensor, transform: Callable[[Any], torch.Tensor]) -> None:
        self.x, self.transform = x, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i, 0].numpy(), mode="L"))


def dataloader_for(x: torch.Tensor, batch_size: int, seed: int) -> torch.utils.data.DataLoader:
    """torchvision Dataset + DataLoader (ToTensor per PIL image) visiting the images in the same
    order as BatchStream(x, batch_size, seed)'s first epoch."""
    from torchvision.transforms import ToTensor

    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)).tolist()
    return torch.utils.data.DataLoader(PILImages(x, ToTensor()), batch_size=batch_size,
                                       sampler=order, drop_last=True)


def batches_agree(x: torch.Tensor, batch_size: int, seed: int, n_batches: int) -> bool:
    """BatchStream and the DataLoader peer give bitwise-equal batches (first epoch)."""
    stream = BatchStream(x, batch_size, seed)
    loader = iter(dataloader_for(x, batch_size, seed))
    return all(torch.equal(stream.next(), next(loader)) for _ in range(n_batches))


def run(quick: bool, workdir: Path) -> list[Row]:
    x = fake_mnist(60_000, 0).train
    k, repeats = (200, 2) if quick else (900, 3)  # batches per timing (< one epoch of 937)
    stream = BatchStream(x, BATCH, seed=0)

    def ours() -> None:
        for _ in range(k):
            stream.next()

    def peer() -> None:
        it = iter(dataloader_for(x, BATCH, seed=0))
        for _ in range(k):
            next(it)

    # One thread: the peer's per-image work is single-threaded anyway, and on a busy machine
    # OpenMP fork/join on BatchStream's small (64x784) ops costs more than it gains.
    with threads(1):
        walls = interleave({"ours": ours, "peer": peer}, repeats)
    bs_ours, bs_peer = k / min(walls["ours"]), k / min(walls["peer"])
    same = batches_agree(x, BATCH, 0, 20)
    return [Row("4. data feeding 28x28, batch 64, 1 thread (Dataset+DataLoader, ToTensor)",
                f"{bs_ours:,.0f} batch/s", f"{bs_peer:,.0f} batch/s", fmt_x(bs_ours / bs_peer),
                "report only",
                f"first 20 batches {'bitwise identical' if same else 'DIFFER'} (same order)",
                holds=None if same else False, correct=same,
                numbers={"t_ours": walls["ours"], "t_peer": walls["peer"], "batches": k,
                         "same": same})]
