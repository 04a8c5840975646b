"""The digit grids in the report: the grid of the evaluation behind each run's score, for the best
and the worst run of each objective."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

sys.path.insert(0, str(Path(__file__).parent))
import frames as F  # noqa: E402

from analysis.plots import plot_samples  # noqa: E402
from benchmark import rundir  # noqa: E402


def _grid(run_dir, step: int, value: float) -> None:
    path = rundir.sample_path(run_dir, step, "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, np.full((18, 18), value), cmap="gray", vmin=0, vmax=1)


def test_best_and_worst_grid_per_objective(tmp_path):
    rows, dirs = [], []
    for gan, fids in (("ns_gan", [30.0, 90.0, 60.0]), ("lsgan", [45.0])):
        for sample, fid in enumerate(fids):
            run_dir = tmp_path / f"{gan}-{sample}"
            _grid(run_dir, 100, 0.2)           # an earlier evaluation
            _grid(run_dir, 200, fid / 100)     # the last: brightness tells the runs apart
            rows.append(F.run(gan, fid, dataset="digits", sample=sample, best_step=100))
            dirs.append(str(run_dir))
    rows.append(F.run("ns_gan", 10.0, dataset="ring8", sample=9))
    dirs.append(str(tmp_path / "toy"))
    runs = F.frame(rows).assign(run_dir=dirs)
    [res] = plot_samples(runs, tmp_path / "plots")
    assert res.name == "samples_digits" and [p.suffix for p in res.files] == [".png", ".pdf"]
    axes = [ax for ax in res.figure.axes if ax.images]
    titles = [ax.get_title() for ax in axes]
    # ns_gan: best (FID 30) and worst (90) of 3; lsgan: one run, no worst panel
    assert titles[0].startswith("NS GAN, best of 3 runs") and "FID 30 at step 200" in titles[0]
    assert titles[1].startswith("NS GAN, worst of 3 runs") and "FID 90 at step 200" in titles[1]
    assert len(axes) == 3 and titles[2].startswith("LSGAN, best of 1 run")
    shown = axes[0].images[0].get_array()
    assert np.allclose(np.asarray(shown)[..., 0], 0.3, atol=0.01)  # the FID-30 run's last grid
    # by the best FID the grid is the best evaluation's (step 100)
    [best] = plot_samples(runs, None, fid="best")
    assert "at step 100" in [ax for ax in best.figure.axes if ax.images][0].get_title()


def test_no_image_dataset_is_a_note():
    [res] = plot_samples(F.frame([F.run("ns_gan", 1.0, dataset="ring8")]))
    assert res.figure is None and "no image dataset" in res.note
