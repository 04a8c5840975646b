"""Plots, the report and the CLI. The figures are read as matplotlib objects (axes, lines,
boxes, labels, where the legend lands), not as file sizes."""

import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.cli import main  # noqa: E402
from analysis.collect import Collection, CollectSummary, save  # noqa: E402
from analysis.plots import (  # noqa: E402
    plot_all,
    plot_budget,
    plot_distribution,
    plot_pr_budget,
    plot_toys,
    toy_grid,
)
from analysis.report import build_report  # noqa: E402
from analysis.style import colours  # noqa: E402

INF = math.inf


def by_gid(ax, prefix):
    """The artists of an axis whose gid starts with prefix (lines, collections, patches)."""
    return [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def legend_outside_axes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(r)
    return all(not box.overlaps(ax.get_window_extent(r)) for ax in fig.axes if ax.get_visible())


def two_phases() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for gan, base in (("ns_gan", 20.0), ("wgan", 30.0), ("my_gan", 40.0)):
        fids = list(base + rng.gamma(2.0, 3.0, 10))
        fids[4] = INF
        rows += F.search(gan, fids, phase="phase1_wide", final_fid_floor=4.0)
        rows += F.seeds(gan, list(base + rng.normal(0, 1, 6)), sample=99, phase="phase3_seeds",
                        final_fid_floor=4.0)
    return F.frame(rows)


def test_distribution_figure_shows_every_run_and_every_diverged_one():
    rows = (F.search("ns_gan", [20.0, 22.0, 25.0, 21.0, INF, INF])
            + F.search("wgan", [30.0, 31.0, INF])
            + F.seeds("began", [10.0, 12.0], sample=5, extractor="inception")
            + F.seeds("mm_gan", [11.0, 12.0, 13.0, 9.0, 10.0], sample=5, extractor="inception"))
    fig = plot_distribution(F.frame(rows)).figure
    ax_inc, ax_cls = [ax for ax in fig.axes if ax.get_visible()]  # protocols sorted
    assert "classifier" in ax_cls.get_title() and "search" in ax_cls.get_title()
    # a box from 5 runs on (ns_gan: 6 runs with 2 diverged), a median bar below
    assert len(by_gid(ax_cls, "box:")) == 1 and len(by_gid(ax_cls, "median:wgan")) == 1
    assert [len(c.get_offsets()) for c in by_gid(ax_cls, "diverged:")] == [2, 1]
    assert [len(c.get_offsets()) for c in by_gid(ax_cls, "runs:")] == [4, 2]
    # the diverged marks sit above every finite run, inside the axis
    top = max(c.get_offsets()[:, 1].max() for c in by_gid(ax_cls, "runs:"))
    div_y = by_gid(ax_cls, "diverged:ns_gan")[0].get_offsets()[0, 1]
    assert top < div_y < ax_cls.get_ylim()[1]
    # ns_gan's median counts the diverged runs as +inf: (21, 22 | 25, inf...) -> lower median 22
    box = by_gid(ax_cls, "box:ns_gan")[0]
    assert box.get_path().vertices[:, 1].min() == pytest.approx(21.0)  # q1
    labels = [t.get_text() for t in ax_cls.get_xticklabels()]
    assert labels == ["NS GAN\n6 runs\n2 diverged", "WGAN\n3 runs\n1 diverged"]
    # the floor is drawn where recorded; the paper's value where the protocol matches
    assert not by_gid(ax_cls, "floor") and not by_gid(ax_cls, "paper:")
    paper = {ln.get_gid(): ln.get_ydata()[0] for ln in by_gid(ax_inc, "paper:")}
    assert paper == {"paper:mm_gan": 9.8, "paper:began": 13.1}  # the study's MNIST column
    assert legend_outside_axes(fig)


def test_budget_figure_small_multiples_by_hand():
    fids = {"ns_gan": [25.0, 20.0, 30.0, INF], "wgan": [40.0, 35.0, 45.0, 50.0],
            "began": [33.0, 31.0, 35.0, 38.0], "lsgan": [28.0, 27.0, 26.0, 29.0],
            "dragan": [50.0, 45.0, 44.0, 43.0], "my_gan": [60.0]}
    rows = [r for g, f in fids.items() for r in F.search(g, f, final_fid_floor=4.0)]
    (res,) = plot_budget(F.frame(rows), boot=50)
    axes = [ax for ax in res.figure.axes if ax.get_visible()]
    # one axis per objective with a budget (my_gan: one setting, named as left out)
    assert [ax.get_title() for ax in axes] == ["NS GAN", "LSGAN", "WGAN", "DRAGAN", "BEGAN"]
    assert "left out (one setting): my GAN" in res.figure._suptitle.get_text()
    cols = colours(fids)
    for ax in axes:
        assert len(by_gid(ax, "band:")) == 1 and by_gid(ax, "floor")
    wgan = axes[2]
    (mean,) = by_gid(wgan, "mean:wgan")
    assert mean.get_color() == cols["wgan"]
    assert mean.get_ydata()[0] == pytest.approx(np.mean(fids["wgan"]))  # k = 1: the mean
    assert mean.get_ydata()[-1] == 35.0  # k = n: the best run
    ns = axes[0]
    (mean,) = by_gid(ns, "mean:ns_gan")
    assert list(mean.get_xdata()) == [2, 3, 4] and mean.get_ydata()[-1] == 20.0
    (median,) = by_gid(ns, "median:ns_gan")  # k = 1: mean infinite, median of {20,25,30,inf}
    assert median.get_ydata()[0] == 25.0 and median.get_linestyle() == "--"
    assert "1 diverged" in ns.get_xlabel() and "P(a finite run) 0.75" in ns.get_xlabel()
    assert legend_outside_axes(res.figure)


def test_degenerate_inputs_give_one_line_not_padding(tmp_path):
    runs = F.frame([F.run(g, f) for g, f in (("ns_gan", 10.0), ("wgan", 20.0))])
    (budget,) = plot_budget(runs)
    assert budget.figure is None and "several settings" in budget.note
    index = build_report(Collection(runs, F.curves(runs), CollectSummary(["x"], len(runs))),
                         tmp_path / "r", boot=20).read_text()
    assert "No significance test: no panel has two objectives" in index
    assert "too few runs" not in index and "### Pairwise tests" not in index
    assert not (tmp_path / "r" / "tables" / "significance.md").exists()


def test_a_report_over_two_phases_keeps_them_apart(tmp_path):
    runs = two_phases()
    index = build_report(Collection(runs, F.curves(runs), CollectSummary(["x"], len(runs))),
                         tmp_path / "r", boot=20).read_text()
    assert "## Phase: phase1_wide" in index and "## Phase: phase3_seeds" in index
    one, three = (index.split("## Phase: phase3_seeds")[0].split("## Phase: phase1_wide")[1],
                  index.split("## Phase: phase3_seeds")[1])
    seed_cell, min_cell = r"\| [\d.]+ ± [\d.]+ \(6 seeds\) \|", r"\| min [\d.]+ \(10 settings"
    assert re.search(min_cell, one) and not re.search(seed_cell, one)
    assert re.search(seed_cell, three) and not re.search(min_cell, three)
    tables = tmp_path / "r" / "tables"
    assert (tables / "phase1_wide" / "budget.csv").is_file()
    assert not (tables / "phase3_seeds" / "budget.csv").exists()  # one setting: no budget
    budget = pd.read_csv(tables / "phase1_wide" / "budget.csv")
    assert (budget["n"] == 10).all()  # the 6 phase-3 seeds of setting 99 never enter
    sig = pd.read_csv(tables / "phase3_seeds" / "significance_omnibus.csv")
    assert sig["kind"].tolist() == ["seeds"] and sig["n_runs"].tolist() == [18]
    # every file written is linked from index.md
    files = [p.relative_to(tmp_path / "r").as_posix() for p in (tmp_path / "r").rglob("*")
             if p.is_file() and p.name != "index.md"]
    linked = set(re.findall(r"\]\(([^)]+)\)", index))
    assert set(files) <= linked, set(files) - linked


def test_toys_rank_by_modes_and_title_each_panel():
    def toy(gan, sample, fid, modes, hq):
        return F.run(gan, fid, dataset="ring8", sample=sample, extractor="raw",
                     final_modes_covered=modes, final_high_quality=hq, **{"dataset.radius": 2.0})

    # the lower FID smears its mass (1 mode, 1%): it must not be the "best" panel
    runs = F.frame([toy("gmmn", 0, 0.018, 1, 0.01), toy("gmmn", 1, 0.5, 8, 0.95)])
    points = {r: np.random.default_rng(i).normal(0, 1, (50, 2)) for i, r in enumerate(runs["run_dir"])}
    (res,) = plot_toys(runs, points=lambda row: points[row["run_dir"]])
    titles = [ax.get_title() for ax in res.figure.axes if ax.get_visible()]
    assert titles[0].startswith("GMMN, best of 2 runs\n8/8 modes, 95% high quality")
    assert titles[1].startswith("GMMN, worst of 2 runs\n1/8 modes, 1% high quality")
    assert [toy_grid(n) for n in (1, 3, 4, 8, 9, 16)] == [
        (1, 1), (1, 3), (2, 2), (2, 4), (3, 3), (3, 6)]


def test_precision_recall_against_budget():
    rows = []
    for gan, f1s in (("ns_gan", [0.5, 0.9, 0.7]), ("wgan", [0.2, 0.4, 0.6])):
        rows += [F.run(gan, 5.0, dataset="triangles", sample=i, final_precision=f,
                       final_recall=f, final_f1=f) for i, f in enumerate(f1s)]
    (res,) = plot_pr_budget(F.frame(rows), boot=20)
    ax = res.figure.axes[0]
    (f1,) = by_gid(ax, "f1:ns_gan")
    assert f1.get_ydata()[0] == pytest.approx(0.7) and f1.get_ydata()[-1] == pytest.approx(0.9)
    assert by_gid(ax, "precision:ns_gan") and by_gid(ax, "recall:ns_gan")
    assert legend_outside_axes(res.figure)


def test_plots_skip_cleanly_without_their_data(tmp_path):
    runs = F.frame([r for g in ("ns_gan", "wgan") for r in F.seeds(g, [60.0, 50.0, 55.0])])
    results = {r.name: r for r in plot_all(runs, F.curves(runs), tmp_path / "p", boot=20)}
    assert "precision and recall" in results["precision_recall"].note
    assert "2-D toy" in results["toys"].note and not results["toys"].files
    assert "several settings" in results["budget"].note
    assert sorted(p.name for p in results["fid_distribution"].files) == [
        "fid_distribution.pdf", "fid_distribution.png"]
    toys = F.frame(F.search("ns_gan", [1.0, 2.0], dataset="grid25", extractor="raw"))
    (r,) = plot_all(toys, F.curves(toys), None, which=("toys",))
    assert "samples/step_*.npz" in r.note


@pytest.fixture
def saved(tmp_path) -> Path:
    runs = two_phases()
    return save(Collection(runs, F.curves(runs), CollectSummary([str(tmp_path)], len(runs))),
                tmp_path / "res")


def test_cli_commands(saved, tmp_path, capsys):
    main(["table", str(saved), "--what", "best", "--phase", "phase3_seeds"])
    out = capsys.readouterr().out
    assert "(6 seeds)" in out and "phase1_wide" not in out
    main(["table", str(saved), "--format", "csv", "--what", "significance"])
    assert capsys.readouterr().out.startswith("dataset,protocol,phase,kind,a,b,")
    main(["table", str(saved), "--format", "tex", "--what", "settings", "--gans", "wgan"])
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and "NS GAN" not in tex and "WGAN" in tex
    main(["plot", str(saved), "--out", str(tmp_path / "p"), "--only", "budget", "--boot", "20"])
    names = ["budget_mnist_fid_2k_test_classifier_phase1_wide.png",
             "budget_mnist_fid_2k_test_classifier_phase1_wide.pdf"]
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(names)
    assert capsys.readouterr().out.split() == [str(tmp_path / "p" / n) for n in names]
    main(["report", str(saved), "--out", str(tmp_path / "r"), "--boot", "20", "--fid", "best"])
    printed = capsys.readouterr().out.strip()
    assert printed == str(tmp_path / "r" / "index.md") and Path(printed).is_file()
    with pytest.raises(SystemExit) as e:
        main(["table", str(saved), "--what", "modes"])
    assert e.value.code == 2 and "no run recorded the modes metric" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["table", str(saved), "--phase", "phase2_narrow"])
    assert e.value.code == 2 and "no runs left after --phase" in capsys.readouterr().err
