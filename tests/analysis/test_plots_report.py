"""Plots, the report and the CLI: every file written, non-empty, and referenced by index.md."""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analysis.cli import main
from analysis.collect import collect
from analysis.plots import plot_all
from analysis.report import build_report
from analysis.style import GAN_LABELS, GAN_ORDER, PALETTE, colour, order_gans
from analysis.synthetic import SyntheticRun, write_sweep


@pytest.fixture(scope="module")
def report_dir(collected, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    build_report(collected, out, draws=300)
    return out


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 1000


def test_every_plot_is_written(report_dir):
    plots = report_dir / "plots"
    for name in ("fid_distribution", "budget", "fid_over_training", "precision_recall",
                 "toys_ring8"):
        for ext in ("png", "pdf"):
            assert _nonempty(plots / f"{name}.{ext}"), f"{name}.{ext}"
    assert (plots / "fid_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (plots / "budget.pdf").read_bytes()[:5] == b"%PDF-"


def test_index_references_every_file(report_dir):
    index = (report_dir / "index.md").read_text()
    files = [p.relative_to(report_dir).as_posix() for p in report_dir.rglob("*")
             if p.is_file() and p.name != "index.md"]
    assert len(files) >= 22
    linked = set(re.findall(r"\]\(([^)]+)\)", index))
    assert set(files) <= linked, set(files) - linked
    assert "![FID per objective](plots/fid_distribution.png)" in index
    assert "32 runs" in index and "Lucic et al. 2018" in index
    # one line of explanation under each plot's heading
    assert "bootstrap draws" in index and "interquartile band" in index


def test_plots_skip_cleanly_without_their_data(tmp_path):
    # images only, FID only: no precision/recall, no toy samples
    runs = [SyntheticRun(g, "mnist", seed=s, fids=(60.0 + s, 40.0 + 3 * s))
            for g in ("ns_gan", "wgan") for s in range(3)]
    c = collect([write_sweep(tmp_path / "s", runs)])
    results = {r.name: r for r in plot_all(c.runs, c.curves, tmp_path / "p", draws=200)}
    assert "precision and recall" in results["precision_recall"].note
    assert not results["precision_recall"].files
    assert "2-D toy" in results["toys"].note
    assert all(_nonempty(f) for f in results["budget"].files)
    # toy runs without samples/step_*.npz: the toys plot says why it is missing
    toy = [SyntheticRun("ns_gan", "grid25", seed=s, fids=(3.0, 1.0 + s)) for s in range(2)]
    c = collect([write_sweep(tmp_path / "t", toy)])
    (r,) = [r for r in plot_all(c.runs, c.curves, tmp_path / "q", which=("toys",))]
    assert "samples/step_*.npz" in r.note and not r.files


def test_fixed_colours():
    assert len(set(PALETTE[g] for g in GAN_ORDER)) == len(GAN_ORDER)
    # every objective that ships with a conf/gan preset has its own colour and a label
    presets = sorted(p.stem for p in (Path(__file__).parents[2] / "conf" / "gan").glob("*.yaml"))
    assert sorted(PALETTE) == presets and sorted(GAN_LABELS) == presets
    assert len(set(PALETTE.values())) == len(PALETTE)
    assert order_gans(["my_gan", "mcgan", "ns_gan", "hinge_sn"]) == [
        "ns_gan", "hinge_sn", "mcgan", "my_gan"]
    assert colour("ns_gan") == PALETTE["ns_gan"]
    assert colour("my_new_gan") == colour("my_new_gan")  # stable for any other name


def test_cli_commands(study, tmp_path, capsys):
    main(["collect", str(study), "--out", str(tmp_path / "res")])
    out = capsys.readouterr()
    assert "runs.parquet (32 runs)" in out.out and "4 diverged" in out.err
    main(["table", str(tmp_path / "res"), "--what", "best"])
    assert "| NS GAN | 23.0 ± 3.0 |" in capsys.readouterr().out
    main(["table", str(study), "--format", "csv", "--what", "significance"])
    assert capsys.readouterr().out.startswith("dataset,protocol,a,b,")
    main(["table", str(study), "--format", "tex", "--what", "settings", "--gans", "lsgan"])
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and "NS GAN" not in tex and "LSGAN" in tex
    main(["plot", str(study), "--out", str(tmp_path / "p"), "--only", "budget",
          "--datasets", "ring8", "--draws", "200"])
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["budget.pdf", "budget.png"]
    assert capsys.readouterr().out.split() == [str(tmp_path / "p" / "budget.png"),
                                               str(tmp_path / "p" / "budget.pdf")]
    main(["report", str(tmp_path / "res"), "--out", str(tmp_path / "r"), "--draws", "200",
          "--fid", "best"])
    printed = capsys.readouterr().out.strip()
    assert printed == str(tmp_path / "r" / "index.md") and Path(printed).is_file()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as e:
        main(["table", str(tmp_path / "empty")])
    assert e.value.code == 2 and "no run directories" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["table", str(tmp_path / "missing")])
    assert e.value.code == 2


def test_analysis_never_imports_training_code_or_torch():
    # a fresh interpreter: what importing every analysis module pulls in
    code = ("import sys, analysis, analysis.cli, analysis.collect, analysis.stats, "
            "analysis.tables, analysis.plots, analysis.report, analysis.summary, "
            "analysis.bench_collect, analysis.synthetic; "
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', "
            "'benchmark', 'hydra', 'omegaconf'))); print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    src = Path(__file__).resolve().parents[2] / "analysis"
    for path in src.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(benchmark|torch)\b", text, re.M), path


def test_bench_runs_small(tmp_path):
    from analysis.bench_collect import bench

    r = bench(60, jobs=1, directory=tmp_path / "b")
    assert r["runs"] == 60 and r["collect_s"] > 0 and r["curve_rows"] > 60 * 4


def test_a_report_dir_reloads(report_dir, collected):
    from analysis.collect import load

    assert load([report_dir]).runs.shape == collected.runs.shape


def test_report_shows_mode_coverage_when_runs_recorded_it(tmp_path, report_dir, capsys):
    runs = [SyntheticRun(g, "ring8", s, fids=(5.0, 2.0), points=None,
                         extra_metrics={"modes_covered": (2, 6 + s), "high_quality": (0.1, 0.5)})
            for g in ("ns_gan", "wgan_gp") for s in range(2)]
    out = tmp_path / "report"
    index = build_report(collect([write_sweep(tmp_path / "toys", runs)]), out, draws=50)
    text = index.read_text()
    assert "## Mode coverage on the 2-D toys" in text
    assert "| ring8 | NS GAN | 2 | 6.5 | 7 | 0.50 | 1/2 |" in text
    for ext in ("md", "csv", "tex"):
        assert f"(tables/modes.{ext})" in text and (out / "tables" / f"modes.{ext}").is_file()
    assert "Mode coverage" not in (report_dir / "index.md").read_text()  # no modes metric there
    main(["table", str(tmp_path / "toys"), "--what", "modes", "--format", "csv"])
    assert "ring8,wgan_gp,2,6.5,7" in capsys.readouterr().out
    main(["table", str(tmp_path / "toys")])
    assert "### Mode coverage on the 2-D toys" in capsys.readouterr().out


def test_cli_modes_table_needs_the_modes_metric(study, capsys):
    with pytest.raises(SystemExit) as e:
        main(["table", str(study), "--what", "modes"])
    assert e.value.code == 2 and "no run recorded the modes metric" in capsys.readouterr().err


def test_toy_grid_stays_readable_for_many_objectives(tmp_path):
    from analysis.plots import toy_grid

    assert [toy_grid(n) for n in (1, 3, 4, 8, 9, 16)] == [
        (1, 1), (1, 3), (2, 2), (2, 4), (3, 3), (3, 6)]
    rng = np.random.default_rng(0)
    runs = [SyntheticRun(f"gan{i:02d}", "ring8", 0, fids=(5.0, 1.0 + i),
                         points=rng.normal(0, 1, (200, 2))) for i in range(10)]
    c = collect([write_sweep(tmp_path / "many", runs)])
    (r,) = plot_all(c.runs, c.curves, tmp_path / "p", which=("toys",))
    png = next(f for f in r.files if f.suffix == ".png")
    height, width = plt.imread(png).shape[:2]
    assert 0.5 < height / width < 1.2  # 4 rows of 3 pairs, not 10 rows of 1
