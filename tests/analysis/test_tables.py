"""analysis.tables: the study-format table, the reference numbers, mode coverage, significance;
md/csv/tex. Inputs are runs DataFrames (tests/analysis/frames.py)."""

import io
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.tables import (  # noqa: E402
    best_fid_table,
    fmt,
    load_reference,
    mode_coverage_table,
)

INF = math.inf
PAPER = {  # (gan, dataset): (mean, std), from the study's table
    ("mm_gan", "mnist"): (9.8, 0.9), ("ns_gan", "cifar10"): (58.5, 1.9),
    ("lsgan", "cifar10"): (87.1, 47.5), ("wgan", "celeba"): (41.3, 2.0),
    ("wgan_gp", "mnist"): (20.3, 5.0), ("dragan", "fashion_mnist"): (27.7, 1.2),
    ("began", "celeba"): (38.9, 0.9),
}


def cells(md: str) -> dict[str, list[str]]:
    return {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| ") and "objective" not in line}


def study_frame() -> pd.DataFrame:
    rows = []
    for gan, by_lr in {"ns_gan": ([30.0, 34.0, 32.0], [20.0, 26.0, 23.0]),
                       "lsgan": ([40.0, 44.0, 42.0], [18.0, 22.0, INF])}.items():
        for sample, fids in enumerate(by_lr):
            rows += F.seeds(gan, fids, sample=sample, final_fid_floor=4.31,
                            **{"gan.lr": [1e-4, 4e-4][sample]})
    rows += F.search("ns_gan", [3.0, 1.5, 2.5, 4.0], dataset="ring8", extractor="raw")
    rows += F.search("wgan_gp", [INF, INF], dataset="ring8", extractor="raw")
    return F.frame(rows)


def test_reference_data():
    ref = load_reference()
    assert len(ref) == 28 and set(ref["dataset"]) == {"mnist", "fashion_mnist", "cifar10", "celeba"}
    for (gan, dataset), (mean, std) in PAPER.items():
        row = ref[(ref["gan"] == gan) & (ref["dataset"] == dataset)].iloc[0]
        assert (row["fid_mean"], row["fid_std"]) == (mean, std)
    assert set(ref["protocol"]) == {"FID-10k/test, inception"}
    assert {"source", "disputed"} <= set(ref.columns) and ref["source"].notna().all()


def test_number_format():
    assert [fmt(x) for x in (72.66, 6.8, 0.4513, 0.0861, 1250.27)] == [
        "72.7", "6.8", "0.45", "0.086", "1250.3"]
    assert fmt(float("inf")) == "∞" and fmt(float("nan")) == "—"


def test_every_cell_says_what_it_is_and_no_paper_column_without_a_match():
    result = best_fid_table(study_frame())
    md = result.table.markdown()
    header = md.splitlines()[2]
    assert "MNIST (FID-2k/test, classifier)" in header
    assert "ring8 (FID-2k/test, raw: two moments only)" in header
    assert "Lucic et al. 2018" not in header  # classifier features, not the paper's protocol
    assert "No column of Lucic et al. 2018 (FID-10k/test, inception)" in md
    rows = cells(md)
    # mean ± std (ddof=1) over the seeds of the best setting (lowest median)
    assert rows["NS GAN"] == ["23.0 ± 3.0 (3 seeds)", "min 1.5 (4 settings)"]
    assert rows["LSGAN"] == ["20.0 ± 2.8 (3 seeds, 1 div.)", "—"]
    assert rows["WGAN GP"] == ["—", "diverged (2/2 settings)"]
    assert "MM GAN" not in rows  # no paper column shown: no paper-only rows either
    assert "MNIST (FID-2k/test, classifier): real-vs-real floor 4.3" in md
    assert "Read the mode coverage table first" in md


def test_the_paper_column_where_dataset_and_protocol_match():
    rows = F.seeds("ns_gan", [7.0, 8.0, 9.0], extractor="inception")
    ref = load_reference()
    ref.loc[(ref["gan"] == "mm_gan") & (ref["dataset"] == "mnist"), "disputed"] = "a typo?"
    md = best_fid_table(F.frame(rows), reference=ref).table.markdown()
    header = md.splitlines()[2]
    assert header.count("Lucic et al. 2018") == 1 and "MNIST · Lucic et al. 2018" in header
    assert "CIFAR10" not in header  # no column for a dataset we did not run
    got = cells(md)
    assert got["NS GAN"] == ["8.0 ± 1.0 (3 seeds)", "6.8 ± 0.5 [1]"]
    assert got["MM GAN"] == ["—", "9.8 ± 0.9 [1]†"]
    assert "† MM GAN, MNIST: a typo?" in md and "[1] " in md


def test_phases_get_their_own_columns():
    rows = (F.search("ns_gan", [25.0, 20.0, 30.0], phase="phase1_wide")
            + F.seeds("ns_gan", [19.0, 21.0], sample=1, phase="phase3_seeds"))
    md = best_fid_table(F.frame(rows)).table.markdown()
    assert "phase1_wide" in md.splitlines()[2] and "phase3_seeds" in md.splitlines()[2]
    assert cells(md)["NS GAN"] == ["min 20.0 (3 settings)", "20.0 ± 1.4 (2 seeds)"]


def test_csv_and_latex():
    result = best_fid_table(study_frame())
    tidy = pd.read_csv(io.StringIO(result.tidy.to_csv(index=False)))
    assert set(tidy["source"]) == {"ours"}  # paper rows only where shown
    ours = tidy[(tidy["dataset"] == "mnist") & (tidy["gan"] == "ns_gan")].iloc[0]
    assert (ours["fid"], ours["std"], ours["mode"], ours["n_seeds"]) == (
        pytest.approx(23.0), pytest.approx(3.0), "seeds", 3)
    assert ours["statistic"] == "mean ± std over the 3 seeds of the best setting"
    tex = result.table.latex()
    assert r"\begin{tabular}{lrr}" in tex and r"23.0 $\pm$ 3.0" in tex
    assert "_" not in tex.replace(r"\_", "")  # every underscore escaped


def test_best_settings():
    result = best_fid_table(study_frame())
    md = result.settings.markdown()
    assert "gan.lr=0.0004" in md and "sample=1" in md
    assert "gan-analyze best" in md  # phase 3's input comes from the command, not this table


def test_mode_coverage_table_by_hand():
    def toy(gan, sample, modes, hq, status="completed"):
        return F.run(gan, 1.0 + sample if status == "completed" else INF, dataset="ring8",
                     sample=sample, extractor="raw", status=status,
                     final_modes_covered=modes, final_high_quality=hq)

    runs = F.frame([toy("ns_gan", 0, 3, 0.2), toy("ns_gan", 1, 8, 0.6), toy("ns_gan", 2, 5, 0.4),
                    toy("wgan_gp", 0, 8, 0.9), toy("wgan_gp", 1, 8, 0.7),
                    toy("wgan_gp", 2, np.nan, np.nan, status="diverged")])
    tidy, table = mode_coverage_table(runs)
    rows = {r[1]: r[2:] for r in table.rows}
    # ns_gan: modes 3, 8, 5 -> median 5, max 8, one run at the dataset's max 8; hq median 0.4
    assert rows["NS GAN"] == ["3", "0", "5", "8", "1/3", "0.40"]
    # wgan_gp: the diverged run counts as 0 modes and 0 high quality: modes 8, 8, 0; hq .9 .7 0
    assert rows["WGAN GP"] == ["3", "1", "8", "8", "2/3", "0.70"]
    assert tidy.set_index("gan").loc["wgan_gp", "diverged"] == 1
    assert "a fifth of the share a perfect generator gives it" in table.markdown()
    assert mode_coverage_table(study_frame()) is None  # no modes metric recorded
