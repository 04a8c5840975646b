"""Run and sweep directories with chosen numbers, written by the run directory's own writers.

The analysis tests need runs whose FIDs are known by hand (to check a statistic against a hand
computation), and the collect benchmark needs 10,000 of them. Nothing here imitates a format:
configs are the real ones composed by Hydra from conf/ (once per objective and dataset), and
every file is written by benchmark/rundir.py, as `gan-train` writes it. What is synthetic is only
the numbers. Damage (`corrupt=`) is applied afterwards, as a crash would leave it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmark import rundir
from benchmark.config_dir import compose
from benchmark.identity import flatten

__all__ = ["SyntheticRun", "base_config", "write_run", "write_sweep", "make_benchmark_sweep"]


@functools.lru_cache(maxsize=64)
def _composed(gan: str, dataset: str, extractor: str | None) -> tuple[tuple[str, Any], ...]:
    overrides = [f"gan={gan}", f"dataset={dataset}"]
    if extractor:
        overrides.append(f"features={extractor}")
    cfg = compose(overrides)
    from omegaconf import OmegaConf

    return tuple(flatten(OmegaConf.to_container(cfg, resolve=True)).items())


def base_config(gan: str, dataset: str, extractor: str | None = None) -> dict[str, Any]:
    """The real effective config of `gan-train gan=GAN dataset=DATASET`, flattened."""
    return dict(_composed(gan, dataset, extractor))


@dataclass
class SyntheticRun:
    """One run to write. `fids` holds FID per evaluation (evenly spaced up to `steps`).

    status: completed | diverged | failed | running | unfinished. corrupt: None, "result"
    (truncated result.json), "metrics" (a truncated last line), "config" (a truncated config.json).
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
    phase: str | None = None
    extra_config: dict[str, Any] = field(default_factory=dict)
    extra_metrics: dict[str, Sequence[float]] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    corrupt: str | None = None
    points: np.ndarray | None = None  # (n, 2) samples to save as samples/step_*.npz
    floor: float | None = None
    name: str | None = None

    def overrides(self) -> list[str]:
        """The overrides a sweep would give this job (Hydra names its dir by them)."""
        parts = [f"dataset={self.dataset}", f"gan={self.gan}", f"gan.lr={self.lr:g}"]
        if self.sample is not None:
            parts.append(f"sample={self.sample}")
        return [*parts, f"seed={self.seed}"]

    def dirname(self) -> str:
        """Hydra's override_dirname for `overrides()`."""
        return self.name or ",".join(sorted(self.overrides()))

    def config(self) -> dict[str, Any]:
        flat = base_config(self.gan, self.dataset, self.extractor)
        flat.update({"seed": self.seed, "sample": self.sample, "phase": self.phase,
                     "gan.lr": self.lr, "gan.beta1": self.beta1, "gan.n_disc": self.n_disc,
                     "train.steps": self.steps, "train.epochs": self.epochs,
                     "eval.num_samples": self.n_gen, **self.extra_config})
        return flat


def _evaluations(run: SyntheticRun, flat: dict[str, Any]) -> list[dict[str, Any]]:
    target = str(flat.get("features._target_", ""))
    extractor = target.rsplit(".", 1)[-1].removesuffix("Features").lower() or "raw"
    protocol = {"extractor": extractor, "extractor_id": f"{extractor[:4]}0123456789ab",
                "extractor_weights": "none", "n_gen": run.n_gen, "n_real": run.n_real,
                "reference_split": "test"}
    if run.floor is not None:
        protocol["fid_floor"] = run.floor
    n = len(run.fids)
    return [{"step": round(run.steps * (i + 1) / n), "wall_s": 2.0 * (i + 1),
             "train_s": 1.8 * (i + 1), "eval_s": 0.2, "epoch": (run.epochs or 0) * (i + 1) // n,
             "losses": {"d_loss": 1.3 - 0.1 * i, "g_loss": 0.7 + 0.05 * i}, "fid": fid,
             **{name: values[i] for name, values in run.extra_metrics.items()}, **protocol}
            for i, fid in enumerate(run.fids)]


def _result(run: SyntheticRun, ident: dict[str, str], evals: list[dict[str, Any]],
            log: rundir.MetricsLog) -> dict[str, Any] | None:
    result: dict[str, Any] = {
        **ident, "version": "synthetic", "gan": run.gan, "dataset": run.dataset, "seed": run.seed,
        "sample": run.sample, "phase": run.phase, "hparams": run.hparams, "host": "node01",
        "slurm_job_id": None, "steps_planned": run.steps, "wall_s": 2.0 * len(evals) + 1.0,
        "train_s": 1.8 * len(evals)}
    best = min(((e["fid"], e["step"]) for e in evals), default=(math.inf, 0))
    last = {"final_fid": evals[-1]["fid"], "final_step": evals[-1]["step"],
            "final_metrics": {k: evals[-1][k] for k in ("fid", *run.extra_metrics)},
            "protocol": {k: v for k, v in evals[-1].items() if k in (
                "extractor", "extractor_id", "extractor_weights", "n_gen", "n_real",
                "reference_split", "fid_floor")}} if evals else {}
    if run.status == "completed":
        return {**result, "status": "completed", "steps_done": run.steps, "best_fid": best[0],
                "best_step": best[1], **last}
    if run.status == "diverged":
        bad = (evals[-1]["step"] if evals else 0) + 7
        log.append({"step": bad, "wall_s": 2.0 * len(evals) + 0.5, "diverged": True,
                    "losses": {"d_loss": math.nan, "g_loss": 3.0}})
        return {**result, "status": "diverged", "steps_done": bad, "diverged_step": bad,
                "diverged_loss": "d_loss", "best_fid": best[0] if evals else None,
                "best_step": best[1] or None, **last}
    if run.status == "failed":
        return {**result, "status": "failed", "error": "RuntimeError: CUDA out of memory",
                "error_type": "OutOfMemoryError",
                "traceback": "Traceback (most recent call last):\n  ...\nRuntimeError: CUDA "
                             "out of memory\n"}
    return None  # running / unfinished: no result yet


def _cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def write_run(root: Path, run: SyntheticRun) -> Path:
    """Write one run directory under `root` with the real writers; returns it."""
    d = Path(root) / run.dirname()
    (d / rundir.HYDRA_DIR).mkdir(parents=True, exist_ok=True)
    # what Hydra writes into a job's dir before the job starts
    (d / rundir.HYDRA_DIR / "overrides.yaml").write_text(yaml.safe_dump(run.overrides()))
    flat = run.config()
    ident = rundir.write_config(d, flat)
    log = rundir.MetricsLog(d)
    log.remove()
    evals = _evaluations(run, flat)
    for rec in evals:
        log.append(rec)
    result = _result(run, ident, evals, log)
    if result is not None:
        rundir.write_result(d, result)
    elif run.status == "running":
        rundir.write_running(d, started=0.0, slurm_job_id=None)
    if run.points is not None:
        rundir.write_points(d, run.steps, run.points)
    if run.corrupt == "result":
        _cut(d / rundir.RESULT_FILE, 1 / 3)
    elif run.corrupt == "config":
        _cut(d / rundir.CONFIG_FILE, 1 / 2)
    elif run.corrupt == "metrics" and evals:
        text = log.path.read_bytes()
        last = text.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        log.path.write_bytes(text[: len(text) - len(last) // 2 - 1])  # cut off mid-line
    return d


def write_sweep(root: Path, runs: Sequence[SyntheticRun]) -> Path:
    """A sweep dir: `multirun.yaml` (as Hydra starts it) plus one directory per run."""
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
                                 corrupt=corrupt, phase="phase1_wide"))
    return write_sweep(root, runs)
