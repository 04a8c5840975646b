"""5. One FID evaluation as the loop makes it (reference statistics from the disk cache)
against the same evaluation with the reference statistics recomputed. Report only; the two
FIDs must be identical."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmark.metrics.cache import MEMO, cache_dir
from benchmark.metrics.evaluator import Evaluator
from benchmark.metrics.features import ClassifierFeatures
from benchmark.nets.infogan import InfoGAN
from perf.cases.data_feeding import fake_mnist
from perf.measure import Row, fmt_s, interleave


def drop_reference_cache() -> None:
    """Delete the reference stats/features/floors on disk and in this process's memo (not the
    trained classifiers): the next evaluation recomputes them."""
    for sub in ("fid_stats", "fid_features"):
        shutil.rmtree(cache_dir() / sub, ignore_errors=True)
    MEMO.clear()


def setup(n_test: int, num_samples: int, classifier_epochs: int, n_train: int = 10_000,
          width: float = 1.0) -> Callable[[], dict[str, Any]]:
    """evaluate(): a fresh Evaluator as the loop builds one (FID, classifier features), scoring
    `num_samples` samples of a random InfoGAN G."""
    data = fake_mnist(n_train, n_test)
    extractor = ClassifierFeatures(data, epochs=classifier_epochs)  # trained once, cached
    torch.manual_seed(0)
    G = InfoGAN(width=width).generator(64, data.sample_shape).eval()
    gen = torch.Generator()

    def generate(n: int) -> torch.Tensor:
        return G(torch.rand(n, 64, generator=gen) * 2 - 1)

    def evaluate() -> dict[str, Any]:
        gen.manual_seed(1)
        ev = Evaluator(data, extractor, metrics=["fid"], num_samples=num_samples,
                       reference_split="test", batch_size=500)
        with torch.no_grad():
            return ev(generate)

    return evaluate


def run(quick: bool, workdir: Path) -> list[Row]:
    n_test, num_samples, repeats = (10_000, 2_000, 2) if quick else (10_000, 10_000, 3)
    evaluate = setup(n_test, num_samples, classifier_epochs=1)
    evaluate()  # reference stats on disk
    scores: dict[str, float] = {}

    def cached() -> None:
        MEMO.clear()  # a new run's process: the stats come from the disk cache
        scores["cached"] = evaluate()["fid"]

    def recomputed() -> None:
        drop_reference_cache()
        scores["recomputed"] = evaluate()["fid"]

    walls = interleave({"cached": cached, "recomputed": recomputed}, repeats)
    t_c, t_r = min(walls["cached"]), min(walls["recomputed"])
    same = scores["cached"] == scores["recomputed"]
    return [Row(f"5. one FID eval, {num_samples // 1000}k samples vs 10k test, classifier "
                "features (reference recomputed)",
                fmt_s(t_c), fmt_s(t_r), f"{t_r / t_c:.1f}x", "report only",
                f"FID {scores['cached']:.6f} "
                + ("identical" if same else f"vs {scores['recomputed']:.6f} DIFFER"),
                holds=None if same else False, correct=same,
                numbers={"t_cached": walls["cached"], "t_recomputed": walls["recomputed"],
                         "fid": scores})]
