"""The study's published numbers (Lucic et al. 2018, best FID per model and dataset), with the
source each cell was read from and the cells the reprints disagree on.

`load_reference()` reads analysis/reference/lucic2018_best_fid.csv (its header says how the file
was built); `STATISTIC` says what one cell is and how the study treated outliers, with sources.
Torch-free: pandas and the standard library only.
"""

from __future__ import annotations

import math
from importlib.resources import files

import pandas as pd

from analysis.collect import protocol_label

__all__ = ["REFERENCE_FILE", "SOURCES", "STATISTIC", "load_reference"]

REFERENCE_FILE = "lucic2018_best_fid.csv"

# The keys of the CSV's `source` / `alt_source` columns: where each number was read.
SOURCES = {
    "DW19": ('Dai & Wipf, "Diagnosing and Enhancing VAE Models", ICLR 2019 (OpenReview text), '
             "Table 1"),
    "PA19": ('"PA-GAN: Improving GAN Training by Progressive Augmentation", ICLR 2019 submission '
             "(OpenReview text; later Zhang & Khoreva, NeurIPS 2019), Table 2"),
}

# What a cell of the table is. In our words; the sources are named inside.
STATISTIC = (
    "mean ± std of the FID of each model's best hyperparameter setting over several training "
    "seeds. In the study's code (compare_gan @49495fd), phase 3 (generate_tasks_lib.Phase3Auto) "
    "takes the phase-1 setting with the lowest FID at any evaluation (BestFIDPerModel: the "
    "minimum over every checkpoint of every run) and reruns it with 50 seeds; each FID compares "
    "10k generated with the first 10k reference images (eval_gan_lib.RunCheckpointEval). "
    "Outliers: DW19's caption, reprinting the table, says outlier cases (e.g. severe mode "
    "collapse) were left out of these numbers, which would otherwise be higher; its text adds "
    "an optimal, data-dependent stopping criterion (as we read it, the best evaluation of each "
    "run). The original paper's caption was not read (no copy reachable): its own outlier rule "
    "is unchecked."
)


def _cite(keys: str) -> str:
    """'DW19;PA19' -> the citations, joined; a key not in SOURCES is kept as it is."""
    return "; ".join(SOURCES.get(k.strip(), k.strip()) for k in keys.split(";") if k.strip())


def _disputed(mean: float, std: float, alt_mean: float, alt_std: float, alt_source: str) -> str | None:
    if not isinstance(alt_source, str) or not alt_source.strip():
        return None
    other = []
    if not math.isclose(alt_mean, mean):
        other.append(f"mean {alt_mean:.1f} (here {mean:.1f})")
    if not math.isclose(alt_std, std):
        other.append(f"std {alt_std:.1f} (here {std:.1f})")
    what = " and ".join(other) if other else f"{alt_mean:.1f} ± {alt_std:.1f}"
    return f"{what} in {_cite(alt_source)}"


def load_reference() -> pd.DataFrame:
    """One row per (gan, dataset) of the published table: gan, dataset, extractor, n_gen,
    reference_split, protocol (analysis.collect.protocol_label of the three), fid_mean, fid_std,
    source (the citation(s) the value was read from), disputed (None, or the other reprint's
    value and its citation), and the raw alt_fid_mean, alt_fid_std, alt_source."""
    with files("analysis").joinpath("reference", REFERENCE_FILE).open() as f:
        raw = pd.read_csv(f, comment="#", dtype={"source": str, "alt_source": str})
    ref = raw.copy()
    ref["protocol"] = [protocol_label(n, s, e) for n, s, e in
                       zip(ref["n_gen"], ref["reference_split"], ref["extractor"], strict=True)]
    ref["disputed"] = [
        _disputed(m, s, am, ast, src) for m, s, am, ast, src in
        zip(ref["fid_mean"], ref["fid_std"], ref["alt_fid_mean"], ref["alt_fid_std"],
            ref["alt_source"], strict=True)
    ]
    ref["source"] = [_cite(s) for s in ref["source"]]
    ref["disputed"] = ref["disputed"].astype(object).where(ref["disputed"].notna(), None)
    columns = ["gan", "dataset", "extractor", "n_gen", "reference_split", "protocol",
               "fid_mean", "fid_std", "source", "disputed",
               "alt_fid_mean", "alt_fid_std", "alt_source"]
    return ref[columns]
