"""1. The Fréchet distance at d=2048 against pytorch-fid's `calculate_frechet_distance`.

Target: >= 6x faster, |dFID|/FID < 1e-9. Also the n < d case (singular covariances), reported.
"""

from __future__ import annotations

import contextlib
import io
import math
import types
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from benchmark.metrics.frechet import frechet_distance
from benchmark.metrics.stats import FeatureStats, RunningStats
from perf.measure import Row, fmt_s, interleave, rel


def gaussian_stats(n: int, d: int, seed: int) -> tuple[FeatureStats, FeatureStats]:
    """Feature stats (through the harness's RunningStats) of two n x d Gaussian samples with
    per-dimension scales in [0.5, 2] and a shifted mean: well-conditioned covariances for
    n >> d, singular ones for n < d."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.5, 2.0, d)
    out = []
    for shift in (0.0, 0.1):
        stats = RunningStats(d)
        for i in range(0, n, 2000):
            m = min(2000, n - i)
            stats.update(rng.standard_normal((m, d)) * scale * (1 + shift) + shift)
        out.append(stats.finalize())
    return out[0], out[1]


def pytorch_fid_frechet(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                        sigma2: np.ndarray) -> tuple[float, str]:
    """pytorch-fid's `calculate_frechet_distance` and a note on how it ran.

    It calls `scipy.linalg.sqrtm(..., disp=False)`; SciPy 1.16-1.17 deprecate `disp` (a warning,
    silenced here and reported in the note) and 1.18 removes it. Only then is its `linalg` swapped
    for a shim whose sqrtm drops `disp` and returns (sqrtm(A), nan): the same matrix square root,
    without the error estimate pytorch-fid discards. Its own fallback (adding 1e-6 to the
    diagonals when the root is not finite) prints a line; that is caught and noted too.
    """
    import scipy
    import scipy.linalg
    from pytorch_fid import fid_score  # a dev extra: the peer, not part of the harness

    notes = []
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            value = fid_score.calculate_frechet_distance(mu1, sigma1, mu2, sigma2)
        except TypeError as e:  # SciPy >= 1.18: sqrtm() got an unexpected keyword 'disp'
            if "disp" not in str(e):
                raise

            def sqrtm(a: np.ndarray, disp: bool = True, **kw: Any) -> Any:
                root = scipy.linalg.sqrtm(a, **kw)
                return root if disp else (root, float("nan"))

            shim = types.SimpleNamespace(sqrtm=sqrtm)
            with mock.patch.object(fid_score, "linalg", shim):  # the peer's module, not ours
                value = fid_score.calculate_frechet_distance(mu1, sigma1, mu2, sigma2)
            notes.append(f"sqrtm(disp=) shimmed for SciPy {scipy.__version__}")
    if any("disp" in str(w.message) for w in caught):
        notes.append(f"as-is; SciPy {scipy.__version__} warns disp= is deprecated")
    if "singular product" in out.getvalue():
        notes.append("its sqrtm was not finite: it added 1e-6 to both diagonals")
    return float(value), "; ".join(notes) or "as-is"


def agreement(n: int, d: int, seed: int = 0) -> dict[str, Any]:
    """Ours vs pytorch-fid on the same stats: both values, their relative difference, the note."""
    a, b = gaussian_stats(n, d, seed)
    ours = frechet_distance(a.mu, a.sigma, b.mu, b.sigma)
    try:
        peer, note = pytorch_fid_frechet(a.mu, a.sigma, b.mu, b.sigma)
    except ValueError as e:  # "Imaginary component ...": pytorch-fid gives up
        return {"ours": ours, "peer": math.nan, "rel": math.nan, "note": f"pytorch-fid: {e}"}
    return {"ours": ours, "peer": peer, "rel": rel(ours, peer), "note": note}


def run(quick: bool, workdir: Path) -> list[Row]:
    d, n, repeats = 2048, 10_000, (2 if quick else 3)
    a, b = gaussian_stats(n, d, seed=0)
    args = (a.mu, a.sigma, b.mu, b.sigma)
    small = (a.mu[:64], a.sigma[:64, :64], b.mu[:64], b.sigma[:64, :64])
    frechet_distance(*small), pytorch_fid_frechet(*small)  # warm up both LAPACKs
    results: dict[str, Any] = {}

    def ours() -> None:
        results["ours"] = frechet_distance(*args)

    def peer() -> None:
        results["peer"], results["note"] = pytorch_fid_frechet(*args)

    walls = interleave({"ours": ours, "peer": peer}, repeats)
    t_ours, t_peer = min(walls["ours"]), min(walls["peer"])
    err = rel(results["ours"], results["peer"])
    ratio = t_peer / t_ours
    # n < d: singular covariances, where sqrtm struggles (smaller d in --quick: sqrtm is slow)
    d_small, n_small = (512, 256) if quick else (2048, 1000)
    sing = agreement(n_small, d_small, seed=1)
    return [
        Row(f"1. Fréchet distance d={d}, n={n // 1000}k (pytorch-fid)",
            fmt_s(t_ours), fmt_s(t_peer), f"{ratio:.1f}x", ">= 6x, |dFID|/FID < 1e-9",
            f"FID {results['ours']:.6f} vs {results['peer']:.6f}: |d|/FID {err:.1e} "
            f"(pytorch-fid {results['note']})",
            holds=ratio >= 6 and err < 1e-9, correct=err < 1e-9,
            numbers={"t_ours": walls["ours"], "t_peer": walls["peer"], "fid_ours": results["ours"],
                     "fid_peer": results["peer"], "rel": err, "note": results["note"]}),
        Row(f"1b. Fréchet, n < d (n={n_small}, d={d_small})", "", "", "", "report only",
            f"FID {sing['ours']:.4f} vs {sing['peer']:.4f}: |d|/FID {sing['rel']:.1e} "
            f"(pytorch-fid {sing['note']})",
            numbers=sing),
    ]
