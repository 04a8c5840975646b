"""The sweep files compose with the real configs, and the demo sweep runs as a tiny multirun."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark import selection
from benchmark.config_dir import compose
from benchmark.search import apply_sample

REPO = Path(__file__).resolve().parents[1]
SWEEPS = sorted(p.stem for p in (REPO / "conf" / "sweep").glob("*.yaml"))
OBJECTIVES = "mm_gan,ns_gan,lsgan,wgan,wgan_gp,dragan,began,vae"
INCEPTION = "benchmark.metrics.inception.InceptionFeatures"


def _compose(*overrides: str):
    return compose(list(overrides), return_hydra_config=True)


def test_sweep_files_exist():
    assert {"demo_search", "demo_seeds", "phase1_wide", "phase2_narrow", "phase3_seeds"} <= set(SWEEPS)


# sweeps that take their setting from a selection file, and the search range it was made in
SELECTED = {"phase3_seeds": ("wide", INCEPTION),
            "demo_seeds": ("demo", "benchmark.metrics.features.ClassifierFeatures")}


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_sweep_composes_with_an_explicit_dir_and_its_command(sweep, tmp_path):
    demo = sweep.startswith("demo")
    extra = [f"best={_selection(tmp_path, *SELECTED[sweep], dataset='digits' if demo else 'mnist')}"
             ] if sweep in SELECTED else []
    cfg = _compose(f"+sweep={sweep}", "dataset=digits" if demo else "dataset=mnist",
                   "gan=ns_gan", *extra)
    assert cfg.hydra.mode.name == "MULTIRUN"
    # no timestamp: relaunches find their runs
    assert cfg.hydra.sweep.dir == (f"multirun/demo/{sweep[5:]}" if demo else f"multirun/{sweep}")
    assert f"+sweep={sweep}" in (REPO / "conf" / "sweep" / f"{sweep}.yaml").read_text()  # its command
    OmegaConf.resolve(cfg)  # every interpolation resolves


@pytest.mark.parametrize(("sweep", "space", "samples"),
                         [("phase1_wide", "wide", "range(0,100)"),
                          ("phase2_narrow", "narrow", "range(0,50)")])
def test_study_phases(sweep, space, samples):
    cfg = _compose(f"+sweep={sweep}", "dataset=cifar10", "gan=wgan_gp", "sample=7")
    params = cfg.hydra.sweeper.params
    assert params.gan == OBJECTIVES and params.sample == samples
    # compare_gan@49495fd generate_tasks_lib.GetTasks: phase1_gan8_{mnist,fashionmnist,cifar,
    # celeba,triangles}_sample100_rep1; phase 2 (sample50) and phase 3 without triangles
    study = "mnist,fashion_mnist,cifar10,celeba" + (",triangles" if sweep == "phase1_wide" else "")
    assert params.dataset == study
    assert cfg.search.name == space and cfg.phase == sweep
    assert cfg.train.epochs == 100 and cfg.eval.every_epochs == 5  # the study's CIFAR-10 length
    assert cfg.eval.num_samples == 10_000 and cfg.arch.bn_momentum == 1e-3
    _, hparams = apply_sample(cfg)
    if space == "narrow":
        assert hparams["gan.disc_batchnorm"] is False and hparams["gan.beta1"] == 0.5


def _selection(tmp_path, search="wide", features=INCEPTION, dataset="mnist"):
    entries = [{"gan": gan, "dataset": d, "sample": 17 + i, "search": search,
                "features_target": features, "fid": 10.0 + i}
               for i, (gan, d) in enumerate([("ns_gan", dataset), ("began", dataset),
                                              ("began", "cifar10")])]
    return selection.write(tmp_path / f"best_{search}.json", entries, "best", "by hand",
                           ["nowhere"])


def test_phase3_reruns_the_selected_sample_over_50_seeds(tmp_path):
    best = _selection(tmp_path)
    cfg = _compose("+sweep=phase3_seeds", "dataset=mnist", "gan=began", f"best={best}")
    assert cfg.hydra.sweeper.params.seed == "range(0,50)"
    # GetTasks@49495fd: phase3_mnist, _fashionmnist, _cifar, _celeba (num_repeat=50)
    assert cfg.hydra.sweeper.params.dataset == "mnist,fashion_mnist,cifar10,celeba"
    assert cfg.sample == 18 and cfg.train.epochs == 20 and cfg.phase == "phase3_seeds"
    assert _compose("+sweep=phase3_seeds", "dataset=cifar10", "gan=began",
                    f"best={best}").sample == 19


@pytest.mark.parametrize(("overrides", "message"), [
    ([], "no selection was given: make one with `gan-analyze best SWEEP_DIR --out FILE`"),
    (["best=/nonexistent/best.json"], "no such file"),
    (["best={narrow}"], "was drawn from search=narrow, this job draws from search=wide: add "
                        "search=narrow"),
    (["best={wide}", "features=classifier"], "this job scores with "
                                             "benchmark.metrics.features.ClassifierFeatures"),
    (["best={wide}", "gan=lsgan"], "selects nothing for lsgan on mnist (it has: began/cifar10, "
                                   "began/mnist, ns_gan/mnist)"),
])
def test_phase3_without_a_matching_selection_says_what_to_do(tmp_path, overrides, message):
    files = {"wide": _selection(tmp_path), "narrow": _selection(tmp_path, "narrow")}
    cfg = _compose("+sweep=phase3_seeds", "dataset=mnist", "gan=ns_gan",
                   *[o.format(**files) for o in overrides])
    with pytest.raises(Exception, match=re.escape(message)):
        OmegaConf.resolve(cfg)


def test_mnist_ns_gan_phase1_job_trains_the_study_length_on_inception(tmp_path):
    from benchmark.train import schedule

    cfg = _compose("+sweep=phase1_wide", "dataset=mnist", "gan=ns_gan", "sample=0")
    # compare_gan's epoch on MNIST is 50,000 examples: 20 epochs at batch 64, n_disc 1
    assert schedule(cfg, n_train=60_000, batches_per_step=cfg.gan.n_disc) == (15_625, 3_906)
    assert cfg.features._target_ == INCEPTION


def test_demo_sizes_per_dataset():
    """One mini_study file sizes both datasets of the demo (looked up by the dataset's name)."""
    ring = _compose("+sweep=demo_search", "dataset=ring8", "gan=mm_gan", "sample=1")
    digits = _compose("+sweep=demo_search", "dataset=digits", "gan=mm_gan", "sample=1")
    assert (ring.train.steps, ring.train.batch_size, ring.arch.hidden * ring.arch.width) == \
        (2500, 256, 64)
    assert list(ring.eval.metrics) == ["fid", "modes"] and list(digits.eval.metrics) == ["fid"]
    assert (digits.train.steps, digits.train.batch_size, digits.arch.width) == (400, 64, 0.25)
    assert ring.hydra.launcher.n_jobs == 2 and ring.train.threads == 1  # two 1-thread workers
    # sample 0 is the study default (batch norm in D); every drawn sample of the demo range has
    # it off and a learning rate in [10^-3.3, 10^-2.5]
    assert apply_sample(_compose("+sweep=demo_search", "dataset=ring8", "gan=mm_gan",
                                 "sample=0"))[0].norm.name == "batch"
    for sample in range(1, 4):
        out, hp = apply_sample(_compose("+sweep=demo_search", "dataset=ring8", "gan=mm_gan",
                                        f"sample={sample}"))
        assert out.norm.name == "none" and 10 ** -3.3 <= hp["gan.lr"] <= 10 ** -2.5


def test_demo_search_runs_in_two_workers_and_relaunch_skips(tmp_path):
    sweep_dir = tmp_path / "search"
    tiny = ["mini.steps.ring8=4", "mini.steps.digits=4", "mini.every.ring8=2",
            "mini.every.digits=2", "eval.num_samples=64"]
    cmd = [sys.executable, "-m", "benchmark.train", "+sweep=demo_search", *tiny,
           # on the command line, a key replaces the sweep file's values for it
           "sample=0", f"hydra.sweep.dir={sweep_dir}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in p.stderr + p.stdout  # the sweep file's launcher
    results = sorted(sweep_dir.glob("*/result.json"))
    assert len(results) == 6  # 2 datasets x 3 objectives
    assert all(json.loads(r.read_text())["status"] == "completed" for r in results)
    names = {r.parent.name for r in results}
    assert ("dataset=ring8,eval.num_samples=64,gan=ns_gan,mini.every.digits=2,mini.every.ring8=2,"
            "mini.steps.digits=4,mini.steps.ring8=4,sample=0,seed=0") in names
    for r in results:  # ring8 records mode coverage for the report; digits only FID
        last = json.loads((r.parent / "metrics.jsonl").read_text().splitlines()[-1])
        assert ("modes_covered" in last) == ("dataset=ring8" in r.parent.name), r.parent.name
        assert last["step"] == 4 and json.loads(r.read_text())["phase"] == "demo_search"
    mtimes = {r: r.stat().st_mtime_ns for r in results}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "already done   6" in p.stdout  # the plan sees them finished
    assert {r: r.stat().st_mtime_ns for r in results} == mtimes
    # keys that do not change what a run computes: same run dirs, nothing retrained
    p = subprocess.run([*cmd, "train.progress=true", "train.threads=2"], capture_output=True,
                       text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "already done   6" in p.stdout and "to run         0" in p.stdout
    assert sorted(sweep_dir.glob("*/result.json")) == results
    assert {r: r.stat().st_mtime_ns for r in results} == mtimes


def test_demo_seeds_without_a_selection_stops_before_anything_runs(tmp_path):
    cmd = [sys.executable, "-m", "benchmark.train", "+sweep=demo_seeds",
           f"hydra.sweep.dir={tmp_path / 'seeds'}"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert p.returncode == 2, p.stderr[-3000:]
    assert "gan-analyze best" in p.stdout + p.stderr
    assert not list((tmp_path / "seeds").glob("*/result.json"))


def _grid(sweep: str) -> dict[str, list[str]]:
    params = _compose(f"+sweep={sweep}", "dataset=cifar10").hydra.sweeper.params
    return {key: str(value).split(",") for key, value in params.items()}


def test_followup_grid_sweeps_loss_penalty_norm_and_arch():
    grid = _grid("followup_grid")
    assert grid["loss"] == ["ns", "hinge", "ls", "wasserstein"]
    assert grid["penalty"] == ["none", "wgan_gp", "dragan", "r1", "l2"]
    assert grid["norm"] == ["none", "batch", "layer", "spectral"]
    for group in ("loss", "penalty", "norm", "arch"):  # every choice has its config file
        assert all((REPO / "conf" / group / f"{c}.yaml").exists() for c in grid[group]), group


@pytest.mark.parametrize(("loss", "penalty", "norm", "arch"),
                         [(loss, penalty, "spectral", "infogan")
                          for loss in ("ns", "hinge", "ls", "wasserstein")
                          for penalty in ("none", "wgan_gp", "dragan", "r1", "l2")]
                         + [("hinge", "none", norm, arch)
                            for norm in ("none", "batch", "layer", "spectral")
                            for arch in ("dcgan", "sndcgan", "resnet")])
def test_followup_grid_cells_compose_and_validate(loss, penalty, norm, arch):
    from benchmark.composition import discriminator_norm
    from benchmark.validate import validate

    cfg = _compose("+sweep=followup_grid", f"loss={loss}", f"penalty={penalty}", f"norm={norm}",
                   f"arch={arch}", "dataset=cifar10", "seed=0")
    assert cfg.gan.name == f"{loss}+{penalty}+{norm}"  # every cell named by its parts
    assert (cfg.gan.lr, cfg.gan.beta1, cfg.gan.n_disc, cfg.train.steps) == (2e-4, 0.5, 1, 100_000)
    assert discriminator_norm(cfg) == norm
    validate(cfg)
