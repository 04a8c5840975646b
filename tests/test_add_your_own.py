"""README's "Add your own objective", as written: its two files, taken from README.md itself (so
the text and this test cannot drift apart), put where a user puts them: the class in a module on
PYTHONPATH, the config in a directory of their own added to Hydra's search path
(`hydra.searchpath=[file://DIR]`, as lightning-hydra-template users add theirs). Then the
commands a user runs, as subprocesses: gan-train, then gan-analyze report on the run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Add your own objective"


def _readme_files(readme: str) -> tuple[str, str]:
    """The section's Python block (the class) and YAML block (the config)."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start:end if end >= 0 else None]
    blocks = dict(re.findall(r"```(python|yaml)\n(.*?)```", section, flags=re.S))
    assert set(blocks) == {"python", "yaml"}, f"{SECTION}: one python and one yaml block"
    return blocks["python"], blocks["yaml"]


def _run(*args: str, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture
def user_dir(tmp_path: Path) -> tuple[Path, Path, str]:
    """(module dir for PYTHONPATH, config dir for hydra.searchpath, the objective's name), with
    README's two files in them, named as README's config says (its _target_ and its name)."""
    code, config = _readme_files((REPO / "README.md").read_text(encoding="utf-8"))
    cfg = yaml.safe_load(config)
    module = cfg["objective"]["_target_"].rsplit(".", 1)[0]
    modules, configs = tmp_path / "my_gans", tmp_path / "my_configs"
    (modules / Path(*module.split("."))).parent.mkdir(parents=True, exist_ok=True)
    (modules / Path(*module.split("."))).with_suffix(".py").write_text(code)
    (configs / "gan").mkdir(parents=True)
    (configs / "gan" / f"{cfg['name']}.yaml").write_text(config)
    return modules, configs, cfg["name"]


def test_readme_objective_trains_and_reports(user_dir: tuple[Path, Path, str],
                                             tmp_path: Path) -> None:
    modules, configs, name = user_dir
    elsewhere = tmp_path / "work"  # not the source tree: nothing found by accident
    elsewhere.mkdir()
    run_dir, report = tmp_path / "run", tmp_path / "report"
    p = _run("benchmark.train", f"hydra.searchpath=[file://{configs}]", f"gan={name}",
             "dataset=ring8", "arch=mlp", "arch.hidden=16", "z_dim=8", "train.steps=6",
             "eval.every=3", "eval.num_samples=64", "eval.metrics=[fid,modes]",
             "train.progress=false", f"hydra.run.dir={run_dir}", cwd=elsewhere,
             pythonpath=modules)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads((run_dir / "result.json").read_text())
    assert (result["status"], result["gan"], result["steps_done"]) == ("completed", name, 6)
    assert result["final_fid"] is not None

    p = _run("analysis", "report", str(run_dir), "--out", str(report), cwd=elsewhere,
             pythonpath=modules)
    assert p.returncode == 0, p.stderr[-3000:]
    index = (report / "index.md").read_text()
    assert name in index or name.replace("_", " ") in index.lower()


def test_readme_objective_is_an_option_of_the_gan_group(user_dir: tuple[Path, Path, str]) -> None:
    from benchmark.config_dir import options

    _, configs, name = user_dir
    assert name not in options("gan")
    assert name in options("gan", searchpath=[f"file://{configs}"])


def test_readme_objective_takes_norm_and_samples(user_dir: tuple[Path, Path, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # a preset like any other: norm= recomposes it and samples draw its search space
    from benchmark.composition import discriminator_norm
    from benchmark.config_dir import compose
    from benchmark.search import apply_sample
    from benchmark.validate import validate

    modules, configs, name = user_dir
    monkeypatch.syspath_prepend(str(modules))
    searchpath = f"hydra.searchpath=[file://{configs}]"
    cfg = compose([searchpath, f"gan={name}", "norm=spectral"])
    validate(cfg)
    assert (cfg.gan.name, discriminator_norm(cfg)) == (name, "spectral")
    cfg, hparams = apply_sample(compose([searchpath, f"gan={name}", "sample=1"]))
    validate(cfg)
    own = {k for k in hparams if k.startswith("gan.objective.")}
    assert own and all(hparams[k] == cfg.gan.objective[k.rsplit(".", 1)[1]] for k in own)
