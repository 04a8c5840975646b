"""Minibatch sampling from an in-memory tensor, resumable from a checkpoint."""

from __future__ import annotations

from typing import Any

import torch

from benchmark.data.base import to_model_space


class BatchStream:
    """Infinite stream of minibatches from an in-memory tensor.

    Each epoch is a fresh random permutation drawn from the stream's own `torch.Generator`
    (seeded with `seed`); the last incomplete batch is dropped. Batches come back in model space
    (`to_model_space`) on the tensor's device. Cheap: plain indexing, no DataLoader.
    """

    def __init__(self, x: torch.Tensor, batch_size: int, seed: int) -> None:
        n = len(x)
        if not 1 <= batch_size <= n:
            raise ValueError(
                f"batch_size must be between 1 and the number of samples ({n}), got {batch_size}"
            )
        self.x = x
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0  # completed epochs
        self.steps = 0  # batches served
        # The generator stays on the CPU so the sequence of permutations is the same on every device.
        self._gen = torch.Generator(device="cpu")
        self._gen.manual_seed(seed)
        self._new_permutation()

    def _new_permutation(self) -> None:
        # Remember the generator state *before* drawing: a checkpoint then only needs this state and
        # the position, not the whole permutation.
        self._epoch_rng_state = self._gen.get_state()
        self._perm = torch.randperm(len(self.x), generator=self._gen).to(self.x.device)
        self._pos = 0

    def next(self) -> torch.Tensor:
        """The next minibatch, float32 in model space, shape (batch_size, *sample_shape)."""
        idx = self._perm[self._pos : self._pos + self.batch_size]
        batch = to_model_space(self.x[idx])
        self._pos += self.batch_size
        self.steps += 1
        # Roll over as soon as the epoch is exhausted so `epoch` counts completed epochs exactly.
        if self._pos + self.batch_size > len(self.x):
            self.epoch += 1
            self._new_permutation()
        return batch

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> torch.Tensor:
        return self.next()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue with bit-identical batches (see `load_state_dict`)."""
        return {
            "num_samples": len(self.x),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "epoch": self.epoch,
            "steps": self.steps,
            "position": self._pos,
            "epoch_rng_state": self._epoch_rng_state.clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position saved by `state_dict` (same data and batch size required)."""
        for key, mine in (("num_samples", len(self.x)), ("batch_size", self.batch_size)):
            if state[key] != mine:
                raise ValueError(f"state was saved with {key}={state[key]}, this stream has {mine}")
        self.seed = state["seed"]
        self._gen.set_state(state["epoch_rng_state"])
        self._new_permutation()  # redraws the same permutation from the saved state
        self._pos = state["position"]
        self.epoch = state["epoch"]
        self.steps = state["steps"]
