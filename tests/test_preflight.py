"""The preflight check (benchmark/preflight.py): each problem a run would meet at start, found
before it starts, in the words of the code that would fail; and `gan-train` stopping on one with
one `error:` and exit 2, no traceback."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from benchmark import preflight, rundir
from benchmark.composition import discriminator_norm
from benchmark.config_dir import compose
from benchmark.data import build_dataset, torchvision_sets
from benchmark.data.base import DatasetNotFoundError
from benchmark.runconfig import effective


def _check(*overrides: str) -> tuple[list[str], preflight.Facts]:
    return preflight.check(effective(compose(list(overrides)))[0])


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "celeba"])
def test_missing_files_are_the_loaders_own_message(name, tmp_path):
    problems, facts = _check(f"dataset={name}", f"data.root={tmp_path}", "features=raw")
    with pytest.raises(DatasetNotFoundError) as raised:
        getattr(torchvision_sets, name)(str(tmp_path))  # what the run would meet
    assert problems == [str(raised.value)]
    assert facts.n_train is not None and facts.shape is not None


def _write_idx(raw: Path, n_train: int, n_test: int) -> None:
    """The IDX files torchvision's MNIST reads (gzipped), random pixels."""
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 28, 28))),
                          ("labels-idx1", rng.integers(0, 10, n))):
            header = struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I",
                                                                           *arr.shape)
            with gzip.open(raw / f"{prefix}-{kind}-ubyte.gz", "wb") as f:
                f.write(header + arr.astype(np.uint8).tobytes())


def test_present_files_pass_and_the_shape_is_the_loaders(tmp_path):
    _write_idx(tmp_path / "MNIST" / "raw", 12, 5)
    problems, facts = _check("dataset=mnist", f"data.root={tmp_path}", "features=raw")
    assert problems == []
    data = torchvision_sets.mnist(str(tmp_path))  # the files load
    assert facts.shape == data.sample_shape
    assert facts.n_train == 60_000  # the format's (the fixture holds 12)


@pytest.mark.parametrize("overrides", [["dataset=ring8"], ["dataset=grid25", "dataset.n_train=321"],
                                       ["dataset=digits", "dataset.size=24"]])
def test_generated_data_facts_are_the_built_datas(overrides):
    cfg = effective(compose(overrides))[0]
    problems, facts = preflight.check(cfg)
    data = build_dataset(cfg.dataset)
    assert problems == []
    assert (facts.shape, facts.n_train) == (data.sample_shape, len(data.train))


def _builds_for_real(cfg, shape: tuple[int, ...]) -> str | None:
    """The oracle: G and D built on the CPU as train.py builds them, a batch through both."""
    try:
        arch, objective = instantiate(cfg.arch), instantiate(cfg.gan.objective)
        G = objective.build_generator(arch, cfg.z_dim, shape)
        D = objective.build_discriminator(arch, shape, cfg.z_dim, discriminator_norm(cfg))
        fake = G(torch.rand(2, cfg.z_dim))
        D(fake)
    except ValueError as e:
        return str(e)
    return None if tuple(fake.shape[1:]) == shape else f"G made {tuple(fake.shape[1:])}"


FITS = [
    ["dataset=ring8", "arch=infogan"],
    ["dataset=digits", "arch=mlp"],
    ["dataset=digits", "arch=infogan", "arch.width=0.25"],
    ["dataset=digits", "arch=dcgan", "arch.width=0.25", "gan=began"],
    ["dataset=digits", "arch=sndcgan", "arch.width=0.25", "norm=spectral", "loss=hinge"],
    ["dataset=digits", "arch=resnet", "arch.width=0.25", "gan=vae"],
    ["dataset=digits", "arch=sndcgan", "arch.width=0.25", "dataset.size=20"],
    ["dataset=triangles", "arch=sndcgan", "arch.width=0.25", "dataset.n_images=800"],
    ["dataset=ring8", "gan=wgan_gp", "norm=layer"],
    ["dataset=ring8", "gan=vae"],
]


@pytest.mark.parametrize("overrides", FITS, ids=lambda o: " ".join(o))
def test_architecture_fits_the_data_exactly_when_it_builds(overrides):
    cfg = effective(compose([*overrides, "features=raw"]))[0]
    problems, facts = preflight.check(cfg)
    real = _builds_for_real(cfg, facts.shape)
    fit = [p for p in problems if p.startswith("the architecture does not fit")]
    if real is None:
        assert fit == []
    else:
        assert fit == [f"the architecture does not fit dataset {cfg.dataset.name} (one sample: "
                       f"{facts.shape}): {real}"]
    assert facts.trains_discriminator == (cfg.gan.name != "vae")


def test_data_that_cannot_be_built_is_the_builders_message():
    from benchmark.data.digits import digits

    problems, facts = _check("dataset=digits", "dataset.size=18")
    with pytest.raises(ValueError) as raised:
        digits(size=18)
    assert problems == [f"dataset digits cannot be built: {raised.value}"]
    assert facts.shape is None


def test_inception_weights_found_or_not_as_the_extractor_would(tmp_path, monkeypatch):
    from benchmark.metrics.inception import InceptionWeightsNotFoundError, resolve_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    problems, _ = _check("dataset=ring8", "features=inception")
    with pytest.raises(InceptionWeightsNotFoundError) as raised:
        resolve_weights(None)
    assert problems == [str(raised.value)]
    weights = tmp_path / "w.pth"
    weights.touch()
    assert _check("dataset=ring8", "features=inception", f"features.weights={weights}")[0] == []
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(weights))
    assert _check("dataset=ring8", "features=inception")[0] == []


def test_invalid_values_and_arguments_are_named():
    problems, _ = _check("dataset=ring8", "gan.lr=-1", "eval.num_samples=1")
    assert problems == ["invalid config: gan.lr=-1: must be a number > 0",
                        "invalid config: eval.num_samples=1: must be an integer >= 2"]
    problems, _ = _check("dataset=ring8", "+dataset.radius2=3")
    assert len(problems) == 1
    assert problems[0].startswith("dataset ring8: ring8() does not take these arguments (")
    assert "radius2" in problems[0]
    with pytest.raises(preflight.ConfigError, match="this run cannot start:\n  invalid config: "
                                                    "gan.lr=-1"):
        preflight.require(effective(compose(["dataset=ring8", "gan.lr=-1"]))[0])


def _gan_train(*args: str, cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    env = {**(env or os.environ), "GANBENCH_DATA": str(cwd / "no_data")}
    return subprocess.run([sys.executable, "-m", "benchmark.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("args", "message"), [
    (["dataset=mnist"], "  MNIST not found in {root}. Expected:\n"),
    (["dataset=ring8", "arch=infogan"],
     "  the architecture does not fit dataset ring8 (one sample: (2,)): arch=infogan needs "
     "images (C,H,W) with H and W divisible by 4; got shape (2,) — use arch=mlp for points\n"),
])
def test_a_run_that_cannot_start_is_one_error_and_exit_2(args, message, tmp_path):
    p = _gan_train(*args, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: this run cannot start:\n")
    assert message.format(root=tmp_path / "no_data") in p.stderr
    assert "Traceback" not in p.stderr and "HYDRA_FULL_ERROR" not in p.stderr
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # nothing was built or trained


def test_a_failed_download_is_one_error_and_exit_2(tmp_path):
    """data.download=true passes the preflight (the files may come); when they cannot, the run
    says where it tried and what to place by hand, once, exit 2. A proxy on a closed port makes
    the download fail at once whether or not this machine is online."""
    closed = "http://127.0.0.1:9"
    env = {**os.environ, "http_proxy": closed, "https_proxy": closed,
           "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "no_proxy": "", "NO_PROXY": ""}
    p = _gan_train("dataset=mnist", "data.download=true", "features=raw", "train.steps=1",
                   f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env=env)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(f"error: MNIST: download into {tmp_path / 'no_data'} failed")
    assert "train-images-idx3-ubyte.gz" in p.stderr and "data.download=false" in p.stderr
    assert "Traceback" not in p.stderr and "HYDRA_FULL_ERROR" not in p.stderr
    # the run dir still says what happened
    assert rundir.read_result(tmp_path / "run")["status"] == "failed"
