"""Synthetic sweep directories with hand-computable numbers (no training, no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perf.synthetic import SyntheticRun, write_sweep

INF = float("inf")

# mnist, FID-2k/test with classifier features: 2 learning rates x 3 seeds per objective, so the
# table reports mean ± std over the seeds of the best setting. None = the run did not score.
SEEDED = {
    "ns_gan": {1e-4: [30.0, 34.0, 32.0], 4e-4: [20.0, 26.0, 23.0]},
    "lsgan": {1e-4: [40.0, 44.0, 42.0], 4e-4: [18.0, 22.0, INF]},      # INF: diverged
    "wgan_gp": {1e-4: [25.0, 27.0, 29.0], 4e-4: [None, 24.0, 26.0]},   # None: failed
}
# ring8, FID-2k/test on raw points: one seed per hyperparameter sample: min over settings.
SETTINGS = {
    "ns_gan": [3.0, 1.5, 2.5, 4.0],
    "lsgan": [2.0, INF, 0.8, 5.0],
    "wgan_gp": [INF, INF],
}


def _ring(n: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = 2 * np.pi * rng.integers(0, 8, n) / 8
    return 2.0 * np.stack([np.cos(a), np.sin(a)], 1) + rng.normal(0, spread, (n, 2))


def study_runs() -> list[SyntheticRun]:
    """The runs of the `study` sweep, including every kind of broken run."""
    runs = []
    for gan, by_lr in SEEDED.items():
        for lr, finals in by_lr.items():
            for seed, final in enumerate(finals):
                if final is None:
                    runs.append(SyntheticRun(gan, "mnist", seed, fids=(90.0,), lr=lr,
                                             status="failed"))
                elif final == INF:
                    runs.append(SyntheticRun(gan, "mnist", seed, fids=(80.0, 60.0), lr=lr,
                                             status="diverged"))
                else:
                    # the best evaluation is earlier than the last one for the `best` FID
                    runs.append(SyntheticRun(gan, "mnist", seed, fids=(100.0, final - 1, final),
                                             lr=lr))
    # runs that must not count: still running, killed (no result), corrupt result
    runs.append(SyntheticRun("ns_gan", "mnist", 3, fids=(15.0,), lr=4e-4, status="running"))
    runs.append(SyntheticRun("ns_gan", "mnist", 4, fids=(14.0,), lr=4e-4, status="unfinished"))
    runs.append(SyntheticRun("lsgan", "mnist", 3, fids=(10.0, 9.0), lr=1e-4, corrupt="result"))
    # a truncated last metrics line: the run still counts through its result.json
    runs[0].corrupt = "metrics"
    for gan, finals in SETTINGS.items():
        for sample, final in enumerate(finals):
            extra = {"precision": [0.5, 0.6 + 0.05 * sample], "recall": [0.4, 0.7 - 0.1 * sample]}
            if final == INF:
                fids = () if gan == "wgan_gp" and sample == 0 else (6.0,)  # diverged at once
                runs.append(SyntheticRun(gan, "ring8", 0, fids=fids, sample=sample,
                                         status="diverged", n_real=10000,
                                         extra_metrics=extra if fids else {}))
            else:
                runs.append(SyntheticRun(gan, "ring8", 0, fids=(7.0, final), sample=sample,
                                         n_real=10000, extra_metrics=extra,
                                         hparams={"gan.lr": 2e-4, "gan.beta1": 0.1 * sample},
                                         points=_ring(300, 0.05 * (1 + final), sample)))
    # an unreadable config: the run keeps its row (identity from result.json)
    runs.append(SyntheticRun("ns_gan", "ring8", 1, fids=(9.0,), sample=9, corrupt="config",
                             n_real=10000))
    return runs


@pytest.fixture(scope="session")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep dir with the runs of `study_runs()` (read-only: shared by the session)."""
    return write_sweep(tmp_path_factory.mktemp("analysis") / "study", study_runs())


@pytest.fixture(scope="session")
def collected(study: Path):
    from analysis.collect import collect

    return collect([study], jobs=1)


@pytest.fixture(scope="session")
def hand() -> dict:
    """The FIDs the study sweep was written with, for hand computation in the tests."""
    return {"seeded": SEEDED, "settings": SETTINGS}
