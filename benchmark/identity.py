"""What makes two runs the same run: the one definition the config hash, the sweep's run
directory names, the plan and the analysis' setting id all derive from.

A run's identity is its effective config (hyperparameter sample applied, interpolations resolved,
Hydra's own node dropped), flattened to dotted keys, minus the keys below: they change where or how
fast a run computes, or how it reports progress, not what it computes. Relaunching a sweep with any
of them changed finds the same run directories and the same hashes, so finished runs are skipped
and unfinished ones resume from their checkpoints.

Torch-free and OmegaConf-free: gan-status, the launchers and the analysis import it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# key (a dotted config key; it covers every key below it) -> why it is not part of a run's identity
NON_IDENTITY: dict[str, str] = {
    "device": "where the run computes; CPU and CUDA train the same run (to float rounding)",
    "data.root": "where the dataset files are, not which data",
    "data.download": "whether torchvision may fetch missing files",
    "dataset.root": "data.root as the dataset config receives it",
    "dataset.download": "data.download as the dataset config receives it",
    "train.progress": "a progress bar",
    "train.threads": "CPU threads: the same computation, other speed (float sums may round "
                     "differently)",
    "train.checkpoint_every": "how often the state is saved; a resumed run ends bit for bit as an "
                              "uninterrupted one",
    "eval.batch_size": "samples per generator / feature-extractor call: memory, not which samples",
    "features.weights": "where the Inception file is; its SHA-256 is recorded with every FID",
    "features.batch_size": "images per feature-extractor call: memory, not which images",
    "features.channels_last": "a memory layout for speed (float32 rounding only)",
    "phase": "a label for the analysis (which phase of a study the run belongs to)",
    "best": "the selection file phase 3 reads `sample` from; the sample itself is identity",
    "lookup": "sweep tables, already resolved into the keys that use them",
}
# Override keys that are config groups with no node in the config (launcher=slurm, +sweep=demo):
# never part of a run's directory name.
NON_IDENTITY_GROUPS: dict[str, str] = {
    "launcher": "how jobs are launched (local, submitit, SLURM)",
    "sweep": "the sweep file a job came from; its keys are in the config",
}
# Within one identity: the key that tells seeds of one hyperparameter setting apart.
SEED_KEY = "seed"
HASH_CHARS = 16


def _covered(key: str, keys: Iterable[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in keys)


def is_identity_key(key: str) -> bool:
    """Whether a flattened config key is part of a run's identity."""
    return not _covered(key, NON_IDENTITY)


def defines_setting(key: str) -> bool:
    """Whether a flattened config key is part of a hyperparameter setting (identity minus seed)."""
    return key != SEED_KEY and is_identity_key(key)


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"gan": {"lr": 1e-4}} -> {"gan.lr": 1e-4}; lists stay values. The `hydra` node is dropped."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        if not prefix and key == "hydra":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = dict(value) if isinstance(value, Mapping) else value
    return out


def _digest(items: Iterable[tuple[str, Any]]) -> str:
    blob = json.dumps(sorted(items, key=lambda kv: kv[0]), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:HASH_CHARS]


def config_hash(flat: Mapping[str, Any]) -> str:
    """The run's identity as 16 hex characters: two runs with the same hash compute the same
    thing (same setting, same seed)."""
    return _digest((k, v) for k, v in flat.items() if is_identity_key(k))


def setting_id(flat: Mapping[str, Any]) -> str:
    """The identity minus the seed: runs sharing it are seeds of one hyperparameter setting."""
    return _digest((k, v) for k, v in flat.items() if defines_setting(k))


def override_exclude_keys() -> list[str]:
    """Override keys left out of a sweep job's directory name (Hydra's override_dirname), so a
    relaunch with any of them changed lands in the same run directories."""
    return sorted({*NON_IDENTITY, *NON_IDENTITY_GROUPS})
