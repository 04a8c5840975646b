"""The correctness half of `python -m perf`: each case's "ours" and "peer" compute the same
thing. Small sizes; no timing is asserted (timings are the benchmark's job)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from benchmark.data.base import to_model_space
from benchmark.metrics.frechet import frechet_distance
from perf.cases import (
    CASES,
    DEFAULT,
    data_feeding,
    fid_eval,
    frechet,
    inception,
    runner,
    scale,
    train_step,
)
from perf.cases import collect as collect_case
from perf.measure import Row, print_table

# --- 1. Fréchet distance --------------------------------------------------------------------


def test_frechet_agrees_with_pytorch_fid_on_well_conditioned_stats() -> None:
    r = frechet.agreement(n=2000, d=64)
    assert r["ours"] > 1.0 and math.isfinite(r["peer"])
    assert r["rel"] < 1e-9, r


def test_frechet_n_lt_d_is_reported_finite() -> None:
    r = frechet.agreement(n=40, d=64)
    assert math.isfinite(r["ours"]) and r["ours"] > 0
    assert isinstance(r["note"], str) and r["note"]


def test_pytorch_fid_shim_when_scipy_drops_disp(monkeypatch: pytest.MonkeyPatch) -> None:
    # SciPy 1.18 removes sqrtm's disp=: the shim must give pytorch-fid's value and say so.
    a, b = frechet.gaussian_stats(500, 16, seed=0)
    args = (a.mu, a.sigma, b.mu, b.sigma)
    as_is, _ = frechet.pytorch_fid_frechet(*args)
    real_sqrtm = scipy.linalg.sqrtm

    def sqrtm_without_disp(m: np.ndarray, **kw: object) -> np.ndarray:
        if "disp" in kw:
            raise TypeError("sqrtm() got an unexpected keyword argument 'disp'")
        return real_sqrtm(m, **kw)

    monkeypatch.setattr(scipy.linalg, "sqrtm", sqrtm_without_disp)
    shimmed, note = frechet.pytorch_fid_frechet(*args)
    assert "shimmed" in note
    assert shimmed == pytest.approx(as_is, rel=1e-12)
    assert shimmed == pytest.approx(frechet_distance(*args), rel=1e-9)


# --- 2. Inception features --------------------------------------------------------------------


def test_inception_features_match_torch_fidelity(tmp_path: Path) -> None:
    from benchmark.metrics.inception import InceptionFeatures, calibrated_random_weights

    # One image and two calibration images: Inception at 299x299 is slow on a small CPU.
    weights = calibrated_random_weights(tmp_path / "w.pth", seed=0, calibration_images=2)
    images = inception.images(1)
    ours = InceptionFeatures(weights=weights, batch_size=1)(to_model_space(images))
    peer = inception.torch_fidelity_features(inception.torch_fidelity_extractor(weights), images,
                                             batch=1)
    assert ours.shape == peer.shape == (1, 2048)
    assert float(peer.std()) > 1e-3  # not vanishing: the comparison means something
    assert inception.feature_error(ours, peer) < 1e-4
    # and the error measure itself sees a real difference
    assert inception.feature_error(ours, peer * 1.01) > 5e-3


# --- 3. training step -------------------------------------------------------------------------


@pytest.mark.parametrize("gan", ["ns_gan", "wgan_gp"])
def test_bare_loop_trains_the_same_generator_as_the_harness(gan: str, tmp_path: Path) -> None:
    cfg = train_step.train_config(gan, steps=3, extra=["arch.width=0.125"])
    marks_h, g_h = train_step.harness_steps(cfg, tmp_path / "run")
    marks_b, g_b = train_step.bare_steps(cfg)
    assert len(marks_h) == len(marks_b) == 3  # the step callback: once per step
    assert train_step.max_state_diff(g_h, g_b) == 0.0
    walls, cpus = train_step.step_durations(marks_h, warm=1)
    assert len(walls) == len(cpus) == 2 and min(walls) > 0
    # one more step and they differ: the comparison is not vacuous
    _, g_more = train_step.bare_steps(train_step.train_config(gan, steps=4,
                                                              extra=["arch.width=0.125"]))
    assert train_step.max_state_diff(g_h, g_more) > 0


# --- 4. data feeding --------------------------------------------------------------------------


def test_batchstream_and_dataloader_give_the_same_batches() -> None:
    from benchmark.data.loader import BatchStream

    x = data_feeding.fake_mnist(300, 0).train
    assert x.shape == (300, 1, 28, 28) and x.dtype == torch.uint8
    assert data_feeding.batches_agree(x, batch_size=32, seed=3, n_batches=9)
    # the check has teeth: another seed's loader visits other images
    other = next(iter(data_feeding.dataloader_for(x, 32, seed=4)))
    assert not torch.equal(BatchStream(x, 32, seed=3).next(), other)


# --- 5. FID evaluation ------------------------------------------------------------------------


def test_cached_and_recomputed_reference_give_the_same_fid(tmp_path: Path) -> None:
    from benchmark.metrics.cache import MEMO, cache_dir

    evaluate = fid_eval.setup(n_test=300, num_samples=200, classifier_epochs=1, n_train=600,
                              width=0.125)
    first = evaluate()["fid"]
    assert any((cache_dir() / "fid_stats").glob("*.npz"))
    MEMO.clear()
    cached = evaluate()["fid"]
    fid_eval.drop_reference_cache()
    assert not (cache_dir() / "fid_stats").exists()
    recomputed = evaluate()["fid"]
    assert math.isfinite(first) and first == cached == recomputed


# --- 6. collect -------------------------------------------------------------------------------


def test_naive_collect_reads_the_same_final_fids(tmp_path: Path) -> None:
    from analysis.collect import collect
    from perf.synthetic import make_benchmark_sweep

    sweep = make_benchmark_sweep(tmp_path / "sweep", 60)
    ours = collect([sweep], jobs=1)
    runs, curves = collect_case.naive_collect(sweep)
    n_peer, n_same, n_ours = collect_case.agreement(ours.runs, runs)
    assert n_peer > 40 and n_same == n_peer and n_ours >= n_peer
    assert len(curves) > 0


def test_collect_case_prints_the_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (row,) = collect_case.run(quick=True, workdir=tmp_path, n_runs=40)
    assert row.correct and row.ratio.endswith("x") and "CPU s" in row.correctness
    assert not (tmp_path / "sweep").exists()  # the 10,000 dirs do not outlive the case


# --- the study on paper -----------------------------------------------------------------------


def test_scale_reads_the_study_from_the_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    gans, datasets, samples = scale.study_grid()
    assert "wgan_gp" in gans and "mnist" in datasets and samples == 100
    # MNIST as the study trains it: 20 epochs of 50,000 (conf/dataset/mnist.yaml), batch 64
    cfg = scale.job_config("wgan_gp", "mnist")
    facts = scale.data_facts(cfg)  # no file read: MNIST need not be on disk
    assert facts.shape == (1, 28, 28) and facts.trains_discriminator
    plan = scale.planned(cfg, facts)
    assert plan["g_steps"] == round(20 * 50_000 / (64 * 5)) and plan["d_steps"] == 5 * plan["g_steps"]
    # every 5 epochs = round(781.25) steps, and at the last step: 781, ..., 3124, then 3125
    assert plan["evals"] == 5
    one_ms = {"d_s": 1e-3, "g_s": 1e-3, "d_flops": 0.0, "g_flops": 0.0, "d_ops": 0.0,
              "g_ops": 0.0, "params": 0.0}
    monkeypatch.setattr(scale, "study_grid", lambda sweep=scale.SWEEP: (["wgan_gp", "vae"],
                                                                        ["mnist"], samples))
    wgan_gp, vae = scale.phase_cost(lambda gan, shape: one_ms, gpu_speedup=1.0)
    assert vae["d_steps"] == 0 and vae["g_steps"] == round(20 * 50_000 / 64)
    per_run = (plan["d_steps"] + plan["g_steps"]) * 1e-3 + 5 * scale.EVAL_S["inception"]
    assert wgan_gp["gpu_h_all"] == pytest.approx(per_run / 3600 * 100)


# --- the table --------------------------------------------------------------------------------


def test_every_case_has_a_runner() -> None:
    assert all(callable(runner(name)) for name in CASES)
    assert "scale" not in DEFAULT and DEFAULT[-1] == "inception_compile"


def test_table_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [Row("1. a", "1 s", "2 s", "2.0x", ">= 1x", "ok", holds=True),
            Row("2. b", "", "", "", "report only", "note")]
    print_table(rows)
    out = capsys.readouterr().out
    assert "1. a" in out and "holds" in out and "2. b" in out and "correctness" in out
