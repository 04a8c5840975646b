"""Synthetic run and sweep directories with the files `gan-train` writes, for tests and benchmarks.

The layout mirrors a real Hydra multirun: `<sweep>/multirun.yaml` and one
`<sweep>/<override_dirname>/` per run with `.hydra/`, `config.yaml`, `metrics.jsonl`,
`result.json` (or `running.json` while a run trains) and, optionally, `samples/step_*.npz`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = ["SyntheticRun", "config_for", "write_run", "write_sweep", "make_benchmark_sweep"]

_OBJECTIVE_TARGETS = {
    "mm_gan": ("MMGAN", {}), "ns_gan": ("NSGAN", {}), "lsgan": ("LSGAN", {}),
    "wgan": ("WGAN", {"clip": 0.01}), "wgan_gp": ("WGANGP", {"penalty": 10.0}),
    "dragan": ("DRAGAN", {"penalty": 10.0}), "began": ("BEGAN", {"gamma": 0.75, "lambda_k": 0.001}),
    "vae": ("VAE", {}),
}
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 10k configs in seconds
_TOYS = {"ring8": {"radius": 2.0, "std": 0.02}, "grid25": {"spacing": 2.0, "std": 0.05}}


def _jsonable(value: Any) -> Any:
    # As the trainer writes them: NaN and infinities become the strings "nan", "inf", "-inf".
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def config_for(gan: str, dataset: str, seed: int = 0, sample: int | None = None,
               lr: float = 2e-4, beta1: float = 0.5, n_disc: int = 1, steps: int = 1000,
               n_gen: int = 2000, extractor: str | None = None, epochs: int | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A nested config shaped like a real run's effective `config.yaml`."""
    target, objective_params = _OBJECTIVE_TARGETS.get(gan, (gan.upper(), {}))
    toy = dataset in _TOYS
    extractor = extractor or ("raw" if toy else "classifier")
    features: dict[str, Any] = {"_target_": f"benchmark.metrics.features.{extractor.title()}Features"}
    if extractor == "classifier":
        features.update(_convert_="object", seed=0, epochs=20, batch_size=128, lr=0.001,
                        feature_dim=64)
    cfg: dict[str, Any] = {
        "seed": seed, "sample": sample, "device": "auto", "z_dim": 64,
        "data": {"root": "data", "download": False},
        "train": {"steps": steps, "epochs": epochs, "batch_size": 64, "threads": 1,
                  "checkpoint_every": 1000, "progress": False},
        "eval": {"every": max(1, steps // 4), "every_epochs": 5 if epochs else None,
                 "num_samples": n_gen, "reference_split": "test", "batch_size": 500,
                 "metrics": ["fid"]},
        "features": features,
        "gan": {"name": gan,
                "objective": {"_target_": f"benchmark.objectives.gans.{target}", **objective_params},
                "lr": lr, "beta1": beta1, "beta2": 0.999, "n_disc": n_disc,
                "disc_batchnorm": gan not in ("wgan_gp", "dragan"), "latent": "uniform",
                "search_space": {"wide": {"gan.objective.penalty": {"log10_uniform": [-1, 2]}},
                                 "narrow": {"gan.disc_batchnorm": {"choice": [False]}}}},
        "arch": ({"_target_": "benchmark.nets.mlp.MLP", "hidden": 512, "depth": 2} if toy else
                 {"_target_": "benchmark.nets.infogan.InfoGAN", "width": 0.25, "bn_momentum": 0.1}),
        "dataset": {"name": dataset, "_target_": f"benchmark.data.toys.{dataset}",
                    **(_TOYS.get(dataset, {"size": 16}))},
        "search": {"name": "wide", "params": {"gan.lr": {"log10_uniform": [-5, -2]},
                                              "gan.n_disc": {"choice": [1, 5]}}},
        "study_epochs": {"mnist": 20, "fashion_mnist": 20, "cifar10": 100},
    }
    for key, value in (extra or {}).items():  # dotted overrides, e.g. {"gan.objective.clip": 0.1}
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return cfg


@dataclass
class SyntheticRun:
    """One run to write. `fids` holds FID per evaluation (evenly spaced up to `steps`).

    status: completed | diverged | failed | running | unfinished. corrupt: None, "result"
    (truncated result.json), "metrics" (truncated last line), "config" (invalid YAML).
    """

    gan: str
    dataset: str
    seed: int = 0
    fids: Sequence[float] = (50.0, 30.0)
    status: str = "completed"
    sample: int | None = None
    lr: float = 2e-4
    beta1: float = 0.5
    n_disc: int = 1
    steps: int = 1000
    n_gen: int = 2000
    n_real: int = 360
    extractor: str | None = None
    epochs: int | None = None
    extra_config: dict[str, Any] = field(default_factory=dict)
    extra_metrics: dict[str, Sequence[float]] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    corrupt: str | None = None
    points: np.ndarray | None = None  # (n, 2) samples to save as samples/step_*.npz
    name: str | None = None

    def dirname(self) -> str:
        """Hydra's override_dirname for the overrides a sweep would vary."""
        if self.name:
            return self.name
        parts = [f"dataset={self.dataset}", f"gan={self.gan}", f"gan.lr={self.lr:g}"]
        if self.sample is not None:
            parts.append(f"sample={self.sample}")
        return ",".join([*parts, f"seed={self.seed}"])


def write_run(root: Path, run: SyntheticRun) -> Path:
    """Write one run directory under `root`; returns it."""
    d = Path(root) / run.dirname()
    (d / ".hydra").mkdir(parents=True, exist_ok=True)
    cfg = config_for(run.gan, run.dataset, run.seed, run.sample, run.lr, run.beta1, run.n_disc,
                     run.steps, run.n_gen, run.extractor, run.epochs, run.extra_config)
    cfg_text = yaml.dump(cfg, Dumper=_Dumper, sort_keys=False)
    if run.corrupt == "config":
        cfg_text = "gan: {name: [unclosed\n"
    (d / "config.yaml").write_text(cfg_text)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(run.dirname().split(",")))
    extractor = cfg["features"]["_target_"].rsplit(".", 1)[1].removesuffix("Features").lower()
    protocol = {"extractor": extractor, "extractor_id": f"{extractor[:4]}0123456789ab",
                "n_gen": run.n_gen, "n_real": run.n_real, "reference_split": "test"}
    n = len(run.fids)
    evals = []
    best = (math.inf, 0)
    for i, fid in enumerate(run.fids):
        step = round(run.steps * (i + 1) / n)
        rec: dict[str, Any] = {
            "step": step, "wall_s": 2.0 * (i + 1), "train_s": 1.8 * (i + 1), "eval_s": 0.2,
            "epoch": (run.epochs or 0) * (i + 1) // n,
            "losses": {"d_loss": 1.3 - 0.1 * i, "g_loss": 0.7 + 0.05 * i}, "fid": fid, **protocol}
        for name, values in run.extra_metrics.items():
            rec[name] = values[i]
        evals.append(rec)
        if fid < best[0]:
            best = (fid, step)
    lines = [json.dumps(_jsonable(e), sort_keys=True) for e in evals]
    result: dict[str, Any] = {
        "config_hash": hashlib.sha256(cfg_text.encode()).hexdigest()[:16], "version": "0.1.0",
        "gan": run.gan, "dataset": run.dataset, "seed": run.seed, "sample": run.sample,
        "hparams": run.hparams, "host": "node01", "slurm_job_id": None,
        "steps_planned": run.steps, "wall_s": 2.0 * n + 1.0, "train_s": 1.8 * n,
    }
    last = {"final_fid": evals[-1]["fid"], "final_step": evals[-1]["step"],
            "protocol": protocol} if evals else {}
    if run.status == "completed":
        result.update(status="completed", steps_done=run.steps, best_fid=best[0],
                      best_step=best[1], **last)
    elif run.status == "diverged":
        bad = (evals[-1]["step"] if evals else 0) + 7
        lines.append(json.dumps({"step": bad, "wall_s": 2.0 * n + 0.5, "diverged": True,
                                 "losses": {"d_loss": "nan", "g_loss": 3.0}}, sort_keys=True))
        result.update(status="diverged", steps_done=bad, diverged_step=bad, diverged_loss="d_loss",
                      best_fid=best[0] if evals else None, best_step=best[1] or None, **last)
    elif run.status == "failed":
        result.update(status="failed", error="RuntimeError: CUDA out of memory",
                      traceback="Traceback (most recent call last):\n  ...\nRuntimeError: CUDA out of memory\n")
    text = "\n".join(lines) + ("\n" if lines else "")
    if run.corrupt == "metrics" and lines:
        text = text[: len(text) - len(lines[-1]) // 2 - 1]  # a write cut off mid-line
    (d / "metrics.jsonl").write_text(text)
    if run.status in ("completed", "diverged", "failed"):
        blob = json.dumps(_jsonable(result), indent=2, sort_keys=True) + "\n"
        (d / "result.json").write_text(blob[: len(blob) // 3] if run.corrupt == "result" else blob)
    elif run.status == "running":
        (d / "running.json").write_text(json.dumps({"host": "node01", "pid": 4242}))
    if run.points is not None:
        (d / "samples").mkdir(exist_ok=True)
        np.savez(d / "samples" / f"step_{run.steps:07d}.npz", points=run.points)
    return d


def write_sweep(root: Path, runs: Sequence[SyntheticRun]) -> Path:
    """A sweep dir: `multirun.yaml` plus one directory per run."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "multirun.yaml").write_text(
        "hydra:\n  mode: MULTIRUN\n  sweep:\n    dir: " + str(root) + "\n")
    for run in runs:
        write_run(root, run)
    return root


GANS = ("mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began", "vae")
DATASETS = ("mnist", "fashion_mnist", "cifar10")


def make_benchmark_sweep(root: Path, n_runs: int = 10_000, seed: int = 0) -> Path:
    """A phase-1-like sweep of `n_runs` runs: 8 objectives x 3 datasets x hyperparameter
    samples, 4 evaluations each, ~3% diverged, ~1% failed, ~0.5% running, ~0.2% corrupt."""
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(n_runs):
        gan, dataset = GANS[i % len(GANS)], DATASETS[(i // len(GANS)) % len(DATASETS)]
        sample = i // (len(GANS) * len(DATASETS))
        lr, beta1 = float(10 ** rng.uniform(-5, -2)), float(rng.uniform(0, 1))
        n_disc = int(rng.choice([1, 5]))
        start = float(rng.uniform(80, 300))
        fids = [start * f for f in np.sort(rng.uniform(0.1, 1.0, 4))[::-1]]
        u = rng.uniform()
        status, corrupt = "completed", None
        if u < 0.03:
            status = "diverged"
        elif u < 0.04:
            status = "failed"
        elif u < 0.045:
            status = "running"
        elif u < 0.047:
            corrupt = "result"
        elif u < 0.049:
            corrupt = "metrics"
        extra = {"gan.objective.penalty": float(10 ** rng.uniform(-1, 2))} if gan in (
            "wgan_gp", "dragan") else {}
        hparams = {"gan.lr": lr, "gan.beta1": beta1, "gan.n_disc": n_disc, **extra}
        runs.append(SyntheticRun(gan, dataset, seed=0, fids=fids, status=status, sample=sample,
                                 lr=lr, beta1=beta1, n_disc=n_disc, steps=9375, n_gen=10000,
                                 n_real=10000, epochs=20, extra_config=extra, hparams=hparams,
                                 corrupt=corrupt))
    return write_sweep(root, runs)
