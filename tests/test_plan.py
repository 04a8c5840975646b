"""A sweep's plan (benchmark/plan.py; `launcher=plan`, hydra_plugins/ganbench_launchers): the jobs
Hydra's BasicSweeper would make, each composed exactly as Hydra composes it, scheduled as
train.py schedules it and costed as docs/performance.md costs it; then the study's phase 1 planned
on a fresh clone (no data, no weights) and with fixture files in place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from benchmark import plan as planning
from benchmark.runconfig import effective
from benchmark.rundir import COMPLETED, write_result

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hydra_loader():
    """Hydra initialised on conf/ as in gan-train, and its config loader."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import benchmark.resolvers  # noqa: F401
    from benchmark.config_dir import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        yield GlobalHydra.instance().config_loader()


def _master(loader, *overrides: str):
    """The multirun's config as the sweeper receives it."""
    from hydra.types import RunMode

    return loader.load_configuration("config", list(overrides), run_mode=RunMode.MULTIRUN)


def test_expand_makes_basic_sweepers_jobs(hydra_loader):
    """The same jobs in the same order as Hydra's BasicSweeper (the oracle), command line after
    the sweep file's params, for choice, range and glob sweeps."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra_plugins.ganbench_launchers.sweeper import expand

    parser = OverridesParser.create(config_loader=hydra_loader)
    params = {"gan": "ns_gan,lsgan", "seed": "range(0,3)", "dataset": "ring8"}
    for args in (["seed=5", "dataset=ring8,digits", "+x=1"],
                 ["gan=glob([ls*,ns_*])", "train.steps=3", "sample=range(0,10,4)"], []):
        lines = [f"{k}={v}" for k, v in params.items()] + args
        (oracle,) = BasicSweeper.split_arguments(parser.parse_overrides(lines), None)
        assert expand(params, args, parser) == oracle
    assert len(expand(params, ["dataset=ring8,digits"], parser)) == 12


JOBS = [
    ["+sweep=phase1_wide", "gan=wgan_gp", "dataset=mnist", "sample=3", "seed=0"],
    ["+sweep=phase1_wide", "gan=vae", "dataset=celeba", "sample=0", "seed=2"],
    ["gan=ns_gan", "dataset=ring8", "gan.lr=1e-4", "train.steps=7", "data.root='/x y'"],
    ["dataset=digits", "~arch.bn_momentum", "seed=3"],
    ["dataset=ring8", "+extra=3", "eval.metrics=[fid,modes]"],
    ["loss=hinge", "penalty=r1", "norm=spectral", "dataset=digits", "penalty.weight=0.5"],
    ["dataset=triangles", "features=inception", "train.progress=false", "train.threads=1"],
    ["dataset=digits", "arch.width=0.5", "~arch.width", "+arch.width=0.25", "z_dim=16"],
]


@pytest.mark.parametrize("job", JOBS, ids=lambda j: " ".join(j))
def test_each_job_is_composed_as_hydra_composes_it(hydra_loader, job):
    """Task config, run dir name and config hash equal Hydra's own full composition's."""
    master = _master(hydra_loader, "+sweep=ring8_all")  # a sweep dir and a master config
    composer = planning.JobComposer(master, hydra_loader)
    ours, choices = composer.compose(job)
    hydras = hydra_loader.load_sweep_config(master, job)
    assert composer.subdir(job, 0) == hydras.hydra.job.override_dirname
    assert choices == OmegaConf.to_container(hydras.hydra.runtime.choices)
    with open_dict(hydras):
        del hydras["hydra"]
    assert OmegaConf.to_container(ours) == OmegaConf.to_container(hydras)
    assert effective(ours)[2] == effective(hydras)[2]


def test_an_override_that_does_not_apply_is_the_jobs_problem(hydra_loader):
    master = _master(hydra_loader)
    jobs = [["dataset=ring8", "gan.no_such_key=1"], ["dataset=ring8"], ["dataset=nope"]]
    plan = planning.make_plan(master, jobs, hydra_loader, progress=False)
    bad, good, unknown = plan.jobs
    assert bad.problems == ["cannot compose: ValueError: Could not override 'gan.no_such_key'. "
                            "To append to your config use +gan.no_such_key=1"]
    assert good.problems == [] and good.config_hash is not None
    assert unknown.problems[0].startswith("cannot compose: ") and "nope" in unknown.problems[0]


SCHEDULES = [  # (overrides, n_train): benchmark.train.schedule is the oracle
    (["+sweep=phase1_wide", "gan=ns_gan", "dataset=mnist", "sample=0"], 60_000),
    (["+sweep=phase1_wide", "gan=wgan", "dataset=fashion_mnist", "sample=0"], 60_000),
    (["+sweep=phase1_wide", "gan=dragan", "dataset=cifar10", "sample=7"], 50_000),
    (["+sweep=phase1_wide", "gan=began", "dataset=celeba", "sample=0"], 162_770),
    (["dataset=digits", "train.epochs=0.5", "eval.every_epochs=0.1", "gan.n_disc=3"], 1_437),
    (["dataset=ring8", "train.steps=123", "eval.every=50"], 50_000),
]


@pytest.mark.parametrize(("overrides", "n_train"), SCHEDULES, ids=lambda x: str(x)[:60])
def test_schedule_is_train_pys(hydra_loader, overrides, n_train):
    from hydra.types import RunMode

    from benchmark.train import schedule

    cfg = hydra_loader.load_configuration("config", overrides, run_mode=RunMode.RUN)
    with open_dict(cfg):
        del cfg["hydra"]
    cfg, _, flat = effective(cfg)
    for batches_per_step in (1, cfg.gan.n_disc):
        assert planning.schedule(flat, n_train, batches_per_step) \
            == schedule(cfg, n_train, batches_per_step)
    steps, every = schedule(cfg, n_train, 1)
    # evaluations: the loop's own rule, counted step by step
    assert planning.evaluations(steps, every) == sum(
        1 for s in range(1, steps + 1) if s % every == 0 or s == steps)


def _page() -> str:
    return (REPO / "docs" / "performance.md").read_text()


def test_step_costs_and_assumptions_are_docs_performance_md():
    text = _page()
    rows = re.findall(r"^\| (\w+) \| ([\d -]+)/ (\d+) \| ([\d -]+)/ (\d+) \| ([\d -]+)/ (\d+) \|",
                      text, flags=re.M)
    table = {gan: {shape: (None if d.strip() == "-" else int(d), int(g))
                   for shape, d, g in zip(("28x28x1", "32x32x3", "64x64x3"),
                                          cells[::2], cells[1::2], strict=True)}
             for gan, *cells in rows}
    assert table == planning.STEP_MS
    words = " ".join(text.split())
    assert "one GPU runs a step 100x faster than one of these CPU cores" in words
    assert ("an assumed 20 s each with Inception features (phase 1's, on every dataset) and 2 s "
            "with classifier or raw features, plus 10 s for the triangles metric") in words


def test_phase1_estimate_is_the_pages(hydra_loader):
    """docs/performance.md's phase 1 GPU-hours per dataset (8 objectives x 100 samples at their
    defaults) from the plan of those jobs, to the page's rounding (its totals come from its own
    measurement run, its table from another: within 3%)."""
    page = dict(re.findall(r"^\| ([\w-]+) \| (\d+) \| [\d.]+-[\d.]+ (?:s|min) \|$", _page(),
                           flags=re.M))
    names = {"MNIST": "mnist", "Fashion-MNIST": "fashion_mnist", "CIFAR-10": "cifar10",
             "CelebA": "celeba", "triangles": "triangles"}
    assert set(page) == set(names)
    master = _master(hydra_loader, "+sweep=phase1_wide")
    jobs = [["+sweep=phase1_wide", f"gan={gan}", f"dataset={d}", "sample=0"]
            for d in names.values() for gan in planning.STEP_MS]
    plan = planning.make_plan(master, jobs, hydra_loader, progress=False)
    for label, dataset in names.items():
        hours = 100 * sum(j.gpu_hours for j in plan.jobs if j.dataset == dataset)
        assert hours == pytest.approx(int(page[label]), rel=0.03), label


# --- the study's phase 1, through the real command --------------------------------------------

def _gan_train(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmark.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture
def fresh_clone(tmp_path_factory, tmp_path) -> dict[str, str]:
    """No dataset under data.root, no Inception weights anywhere."""
    return {**os.environ, "GANBENCH_CACHE": str(tmp_path_factory.getbasetemp() / "cache"),
            "GANBENCH_DATA": str(tmp_path / "data"), "TORCH_HOME": str(tmp_path / "torch"),
            "GANBENCH_INCEPTION_WEIGHTS": ""}


def _lines(sweep: Path) -> list[dict]:
    return [json.loads(line) for line in (sweep / "plan.jsonl").read_text().splitlines()]


def _fixture_files(data: Path) -> Path:
    """Every file phase 1's datasets and the Inception extractor look for (empty: the plan
    checks presence; the loaders' formats are tests/data's)."""
    for folder in ("MNIST", "FashionMNIST"):
        for name in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3",
                     "t10k-labels-idx1"):
            path = data / folder / "raw" / f"{name}-ubyte.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    cifar = data / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (cifar / name).touch()
    (data / "celeba" / "img_align_celeba").mkdir(parents=True)
    (data / "celeba" / "list_eval_partition.txt").touch()
    weights = data / "pt_inception-2015-12-05-6726825d.pth"
    weights.touch()
    return weights


def test_phase1_plan_names_each_missing_file_once_then_runs_with_fixtures(tmp_path, fresh_clone):
    """8 objectives x 5 datasets x 2 samples of the study's phase 1 (the whole sweep: the slow
    test below): exit 2 on a fresh clone, each problem once with its count; exit 0 with fixture
    files in place; a finished run is counted done."""
    sweep = tmp_path / "phase1"
    args = ["+sweep=phase1_wide", "launcher=plan", "sample=range(0,2)", f"hydra.sweep.dir={sweep}"]
    p = _gan_train(*args, cwd=tmp_path, env=fresh_clone)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    jobs = _lines(sweep)
    assert len(jobs) == 80 and [j["index"] for j in jobs] == list(range(80))
    ns_mnist = [j for j in jobs if j["gan"] == "ns_gan" and j["dataset"] == "mnist"]
    # 20 epochs of 50,000 at batch 64, whatever n_disc (1 or 5) the sample drew; FID on
    # Inception every 5 epochs and at the end
    assert [(j["sample"], j["d_steps"], j["evaluations"], j["features"]) for j in ns_mnist] \
        == [(0, 15_625, 5, "inception"), (1, 15_625, 5, "inception")]
    assert ns_mnist[0]["g_steps"] == 15_625
    data = tmp_path / "data"
    for label in ("MNIST", "Fashion-MNIST", "CIFAR-10", "CelebA"):
        assert p.stdout.count(f"] {label} not found in {data}. Expected:") == 1, label
        assert f"[16 jobs] {label} not found" in p.stdout
    assert p.stdout.count("FID Inception weights not found") == 1
    assert "[80 jobs] FID Inception weights not found" in p.stdout
    assert "error: the sweep cannot run as planned (problems above)" in p.stderr
    assert not any((sweep / j["name"]).exists() for j in jobs)  # nothing ran

    weights = _fixture_files(data)
    done = jobs[0]  # a run that finished with this config, and one whose config changed since
    for job, chash in ((done, done["config_hash"]), (jobs[1], "0" * 16)):
        Path(job["dir"]).mkdir(parents=True)
        write_result(Path(job["dir"]), {"status": COMPLETED, "config_hash": chash})
    p = _gan_train(*args, cwd=tmp_path, env={**fresh_clone,
                                              "GANBENCH_INCEPTION_WEIGHTS": str(weights)})
    assert p.returncode == 0, p.stdout + p.stderr
    assert "problems" not in p.stdout
    assert "already done   1 " in p.stdout and "to run         79" in p.stdout
    again = _lines(sweep)
    assert [j["done"] for j in again] == [True] + [False] * 79
    assert [j["config_hash"] for j in again] == [j["config_hash"] for j in jobs]
    assert again[1]["status"] == COMPLETED and not again[1]["problems"]


def test_a_local_sweep_launches_only_jobs_that_can_start(tmp_path, fresh_clone):
    """launcher=local (Hydra's basic launcher) behind the same plan: the job whose architecture
    does not fit its data is not launched, the other trains, and the command exits 2."""
    sweep = tmp_path / "sweep"
    p = _gan_train("-m", "dataset=ring8,digits", "arch=mlp", "arch.hidden=16", "train.steps=2",
                   "eval.every=2", "eval.num_samples=64", "z_dim=8", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path, env=fresh_clone)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "[1 job] the architecture does not fit dataset digits (one sample: (1, 16, 16)): " \
           "arch=mlp works on points" in p.stdout
    assert "error: 1 jobs were not launched" in p.stderr and "Traceback" not in p.stderr
    ring, digits = (j for j in _lines(sweep))
    assert json.loads((Path(ring["dir"]) / "result.json").read_text())["status"] == COMPLETED
    assert not Path(digits["dir"]).exists()


@pytest.mark.slow
def test_the_whole_phase1_plan_on_a_fresh_clone(tmp_path, fresh_clone):
    """The done-when of issue 15: 4,000 plan lines, the MNIST NS GAN jobs at 15,625 D steps with
    Inception features, exit 2 naming the missing datasets and the weights once each."""
    sweep = tmp_path / "phase1"
    t0 = time.monotonic()
    p = _gan_train("+sweep=phase1_wide", "launcher=plan", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path, env=fresh_clone)
    print(f"phase 1 plan: {time.monotonic() - t0:.0f} s\n{p.stdout[-3000:]}")
    assert p.returncode == 2, p.stderr[-3000:]
    jobs = _lines(sweep)
    assert len(jobs) == 4000
    ns_mnist = [j for j in jobs if j["gan"] == "ns_gan" and j["dataset"] == "mnist"]
    assert len(ns_mnist) == 100
    assert {(j["d_steps"], j["features"]) for j in ns_mnist} == {(15_625, "inception")}
    for label in ("MNIST", "Fashion-MNIST", "CIFAR-10", "CelebA"):
        assert p.stdout.count(f"[800 jobs] {label} not found in ") == 1, label
    assert p.stdout.count("[4,000 jobs] FID Inception weights not found") == 1
    assert p.stdout.count(" not found") == 5  # and nothing else is
