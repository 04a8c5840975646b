"""Datasets held in memory as tensors, and minibatch streams over them.

The dataset builders live in submodules (`torchvision_sets`, `digits`, `toys`, `triangles`) and
are instantiated by Hydra from `conf/dataset/*.yaml`; they are not imported here so that using
`Data` or `BatchStream` does not pull in torchvision or scikit-learn.
"""

from __future__ import annotations

from typing import Any

from benchmark.data.base import Data, DatasetNotFoundError, to_model_space
from benchmark.data.loader import BatchStream

__all__ = ["BatchStream", "Data", "DatasetNotFoundError", "build_dataset", "to_model_space"]


# Keys of a dataset config that define training on it, not the data (train.py's schedule, sweeps).
SCHEDULE_KEYS = ("epoch_size", "study_epochs")


def build_dataset(cfg: Any) -> Data:
    """`hydra.utils.instantiate(cfg)` for a `conf/dataset` node, re-raising DatasetNotFoundError.

    Hydra wraps every error raised by a target in an InstantiationException (with the message
    repr()-escaped onto one line); unwrapping keeps the readable "files not found" message.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    if OmegaConf.is_config(cfg):  # the training schedule's keys are not the builder's
        # Resolved first: a bare copy of the node would lose interpolations into the root
        # config (`root: ${data.root}`).
        node = OmegaConf.to_container(cfg, resolve=True)
        cfg = OmegaConf.create({k: v for k, v in node.items() if k not in SCHEDULE_KEYS})
    try:
        data = instantiate(cfg)
    except InstantiationException as e:
        if isinstance(e.__cause__, DatasetNotFoundError):
            raise e.__cause__ from None
        raise
    if not isinstance(data, Data):
        raise TypeError(f"dataset config built a {type(data).__name__}, expected Data")
    return data
