"""analysis.tables: the study-format table, the reference numbers, significance; md/csv/tex."""

import io

import numpy as np
import pandas as pd
import pytest

from analysis.collect import collect
from analysis.synthetic import SyntheticRun, write_sweep
from analysis.tables import (
    best_fid_table,
    fmt,
    load_reference,
    phase3_snippet,
    significance_table,
)

PAPER = {  # (gan, dataset): (mean, std), from the study's table
    ("mm_gan", "mnist"): (9.8, 0.9), ("ns_gan", "cifar10"): (58.5, 1.9),
    ("lsgan", "cifar10"): (87.1, 47.5), ("wgan", "celeba"): (41.3, 2.0),
    ("wgan_gp", "mnist"): (20.3, 5.0), ("dragan", "fashion_mnist"): (27.7, 1.2),
    ("began", "celeba"): (38.9, 0.9),
}


def test_reference_data():
    ref = load_reference()
    assert len(ref) == 28 and set(ref["dataset"]) == {"mnist", "fashion_mnist", "cifar10", "celeba"}
    assert set(ref["gan"]) == {"mm_gan", "ns_gan", "lsgan", "wgan", "wgan_gp", "dragan", "began"}
    for (gan, dataset), (mean, std) in PAPER.items():
        row = ref[(ref["gan"] == gan) & (ref["dataset"] == dataset)].iloc[0]
        assert (row["fid_mean"], row["fid_std"]) == (mean, std)
    assert set(ref["protocol"]) == {"FID-10k/test, inception"}


def test_number_format():
    assert [fmt(x) for x in (72.66, 6.8, 0.4513, 0.0861, 1250.27)] == [
        "72.7", "6.8", "0.45", "0.086", "1250.3"]
    assert fmt(float("inf")) == "∞" and fmt(float("nan")) == "—"


def test_study_table(collected):
    result = best_fid_table(collected.runs, "final")
    md = result.table.markdown()
    header = md.splitlines()[2]
    # our column, then the study's for the same dataset; our dataset without a study column
    assert ("MNIST ours (FID-2k/test, classifier) | MNIST Lucic et al. 2018 "
            "(FID-10k/test, inception)") in header
    assert "ring8 ours (FID-2k/test, raw)" in header
    assert "CELEBA Lucic et al. 2018 (FID-10k/test, inception)" in header
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| ") and "objective" not in line}
    # hand computation: mean ± std (ddof=1) over the seeds of the best setting
    assert rows["NS GAN"][:3] == ["23.0 ± 3.0", "6.8 ± 0.5", "1.5"]
    assert rows["LSGAN"][0] == "20.0 ± 2.8 (1/3 div.)"
    assert rows["WGAN GP"][0] == "25.0 ± 1.4" and rows["WGAN GP"][2] == "diverged (2/2)"
    assert rows["MM GAN"][:2] == ["—", "9.8 ± 0.9"]  # no runs of ours, the study's number
    assert "NOT COMPARABLE" in md and "classifier features" in md
    assert "mean ± std over seeds" in md and "min over settings" in md


def test_inception_results_are_compared_without_warning(tmp_path):
    runs = [SyntheticRun("ns_gan", "mnist", seed=s, fids=(9.0, 7.0 + s), extractor="inception",
                         n_gen=10000, n_real=10000) for s in range(3)]
    c = collect([write_sweep(tmp_path / "incep", runs)])
    md = best_fid_table(c.runs).table.markdown()
    assert "MNIST ours (FID-10k/test, inception)" in md and "NOT COMPARABLE" not in md
    assert "8.0 ± 1.0" in md  # mean and std of 7, 8, 9


def test_csv_and_latex(collected):
    result = best_fid_table(collected.runs, "final")
    tidy = pd.read_csv(io.StringIO(result.tidy.to_csv(index=False)))
    assert set(tidy["source"]) == {"ours", "Lucic et al. 2018"}
    assert (tidy["source"] == "Lucic et al. 2018").sum() == 28
    ours = tidy[(tidy["source"] == "ours") & (tidy["dataset"] == "mnist")
                & (tidy["gan"] == "ns_gan")].iloc[0]
    assert ours["fid"] == pytest.approx(23.0) and ours["std"] == pytest.approx(3.0)
    assert ours["mode"] == "seeds" and ours["n_seeds"] == 3
    tex = result.table.latex()
    assert r"\begin{tabular}{lrrrrrr}" in tex  # objective + 2 ours + 4 study columns and r"\toprule" in tex
    assert r"23.0 $\pm$ 3.0" in tex and r"MNIST ours" in tex and "NS GAN" in tex
    assert "_" not in tex.replace(r"\_", "")  # every underscore escaped


def test_best_settings_and_phase3_snippet(collected):
    result = best_fid_table(collected.runs, "final")
    md = result.settings.markdown()
    assert "gan.lr=0.0004" in md and "sample=1" in md
    ours = result.tidy[result.tidy["source"] == "ours"]
    snippet = phase3_snippet(ours)
    assert "ring8: {ns_gan: 1, lsgan: 2}" in snippet  # wgan_gp: every run diverged
    ns_ring = md.splitlines()[[i for i, x in enumerate(md.splitlines())
                               if "ring8" in x and "NS GAN" in x][0]]
    assert ns_ring.rstrip(" |").endswith("sample=1")  # the unreadable config adds nothing


def test_significance_table(collected):
    tests, table = significance_table(collected.runs, "final")
    md = table.markdown()
    assert "NS GAN vs LSGAN" in md and "Mann-Whitney" in md and "Holm" in md
    assert len(tests) == 6 and np.isfinite(tests["p"]).all()
    assert set(tests["verdict"]) <= {"no significant difference", "differ: NS GAN lower",
                                     "differ: LSGAN lower", "differ: WGAN GP lower"}
    assert r"\begin{tabular}" in table.latex()


def test_the_real_vs_real_floor_is_noted_per_dataset_and_protocol(tmp_path):
    runs = [SyntheticRun("ns_gan", "digits", seed=s, fids=(90.0, 30.0 + s),
                         extra_metrics={"fid_floor": (4.31, 4.31)}) for s in range(2)]
    runs += [SyntheticRun("ns_gan", "ring8", seed=0, fids=(9.0, 2.0))]  # recorded no floor
    md = best_fid_table(collect([write_sweep(tmp_path / "floor", runs)]).runs).table.markdown()
    assert "digits (FID-2k/test, classifier): real-vs-real floor 4.3 (" in md
    assert md.count("real-vs-real floor") == 1


def _toy_runs():
    def run(gan, seed, modes, hq, status="completed"):
        return SyntheticRun(gan, "ring8", seed, fids=(5.0, 1.0 + seed), status=status,
                            extra_metrics={"modes_covered": (1, modes), "high_quality": (0.1, hq)})

    return [run("ns_gan", 0, 3, 0.2), run("ns_gan", 1, 8, 0.6), run("ns_gan", 2, 5, 0.4),
            run("wgan_gp", 0, 8, 0.9), run("wgan_gp", 1, 8, 0.7),
            run("wgan_gp", 2, 0, 0.0, status="diverged")]  # left out


def test_mode_coverage_table_by_hand(tmp_path):
    from analysis.tables import mode_coverage_table

    tidy, table = mode_coverage_table(collect([write_sweep(tmp_path / "toys", _toy_runs())]).runs)
    rows = {r[1]: r[2:] for r in table.rows}
    # ns_gan: modes 3, 8, 5 -> median 5, max 8, one run at the dataset's max 8; hq median 0.4
    assert rows["NS GAN"] == ["3", "5", "8", "0.40", "1/3"]
    assert rows["WGAN GP"] == ["2", "8", "8", "0.80", "2/2"]
    assert tidy.set_index("gan").loc["wgan_gp", "high_quality_median"] == pytest.approx(0.8)
    assert "high quality within 3 standard deviations" in table.markdown()


def test_no_mode_coverage_table_without_the_modes_metric(collected):
    from analysis.tables import mode_coverage_table

    assert mode_coverage_table(collected.runs) is None
