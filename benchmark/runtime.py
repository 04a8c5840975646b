"""Process-level setup for a run: device, seeds, threads, whether to draw a progress bar."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present, else CPU; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but CUDA is not available here; use device=auto or cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_threads(threads: int) -> None:
    if threads > 0:
        torch.set_num_threads(threads)


def progress_enabled(setting: str | bool) -> bool:
    """`auto`: a bar at an interactive terminal, none under SLURM or in log files."""
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise ValueError(f"train.progress={setting!r}; valid: auto, true, false")
    return sys.stderr.isatty() and "SLURM_JOB_ID" not in os.environ


def slurm_job_id() -> str | None:
    """`<array job>_<task>` for an array task, the plain job id otherwise, None outside SLURM."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID")
