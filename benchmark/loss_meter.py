"""The training loop's running means of the objective's losses, and its divergence check."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["LossMeter"]


class LossMeter:
    """Running means of the objective's scalar logs between two evaluations.

    Sums stay on the device (no sync per step); NaN/inf is caught per step without a sync too,
    by remembering the first step at which a loss was not finite.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.first_bad_step = torch.tensor(-1, device=device)
        self.bad_keys: dict[str, torch.Tensor] = {}  # per key: non-finite at first_bad_step

    def add(self, step: int, logs: dict[str, Any]) -> None:
        for key, value in logs.items():
            v = torch.as_tensor(value, device=self.device, dtype=torch.float32).detach()
            self.sums[key] = self.sums.get(key, 0) + v
            self.counts[key] = self.counts.get(key, 0) + 1
            first = ~torch.isfinite(v) & ((self.first_bad_step < 0) | (self.first_bad_step == step))
            self.first_bad_step = torch.where(first, step, self.first_bad_step)
            self.bad_keys[key] = self.bad_keys.get(key, torch.zeros_like(first)) | first

    def diverged(self) -> tuple[int, str] | None:
        """(step, loss name) of the first non-finite loss, or None. Costs one sync."""
        step = int(self.first_bad_step)
        if step < 0:
            return None
        keys = [k for k, flag in self.bad_keys.items() if bool(flag)]
        return step, ",".join(keys)

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts),
                "first_bad_step": self.first_bad_step, "bad_keys": dict(self.bad_keys)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])
        self.first_bad_step, self.bad_keys = state["first_bad_step"], dict(state["bad_keys"])

    def means(self) -> dict[str, float]:
        out = {k: float(s) / self.counts[k] for k, s in self.sums.items()}
        self.sums, self.counts = {}, {}
        return out
