"""analysis.summary reads run files only: runs written by the run directory's own writers
(perf/synthetic.py) with hand-chosen FIDs stand in for real runs."""

import pytest

from analysis.summary import format_run, format_sweep, main
from perf.synthetic import SyntheticRun, write_run


def _make_run(root, gan, lr, seed, fids, corrupt=None, floor=None):
    return write_run(root, SyntheticRun(gan, "ring8", seed, fids=fids, lr=lr, n_gen=64,
                                        n_real=100, corrupt=corrupt, floor=floor))


def test_sweep_table_and_medians(tmp_path):
    runs = [_make_run(tmp_path, "ns_gan", 1e-4, 0, [5.0, 3.0]),
            _make_run(tmp_path, "ns_gan", 1e-4, 1, [6.0, 1.0]),
            _make_run(tmp_path, "lsgan", 1e-4, 0, [4.0, 2.0]),
            _make_run(tmp_path, "lsgan", 1e-4, 1, [4.0, 9.0], corrupt="result")]
    text = format_sweep(tmp_path, runs)
    assert "4 runs: 3 completed, 1 corrupt" in text
    assert "FID on ring8: extractor=raw, n_gen=64, n_real=100, reference=test" in text
    # ns_gan median of final FIDs 3.0 and 1.0 is 2.0; lsgan has one completed run
    ns = next(line for line in text.splitlines() if line.strip().startswith("ns_gan") and "2.000" in line)
    assert "1.000" in ns


def test_run_curve(tmp_path):
    d = _make_run(tmp_path, "ns_gan", 1e-4, 0, [5.0, 3.0])
    text = format_run(d)
    assert "status: completed" in text and "3.000" in text and "extractor=raw" in text
    assert "floor" not in text  # a run from before the floor was recorded


def test_the_floor_is_shown_with_the_protocol(tmp_path):
    d = _make_run(tmp_path, "ns_gan", 1e-4, 0, [5.0, 3.0], floor=0.125)
    assert "real-vs-real floor 0.125 (" in format_run(d)
    assert ("reference=test; real-vs-real floor 0.125"
            in format_sweep(tmp_path, [d]))


def test_a_corrupt_result_is_said_so(tmp_path):
    d = _make_run(tmp_path, "ns_gan", 1e-4, 0, [5.0, 3.0], corrupt="result")
    text = format_run(d)
    assert "status: corrupt (no readable result.json)" in text
    assert "warning: result.json not valid JSON" in text


def test_cli_rejects_a_directory_without_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "neither a run" in capsys.readouterr().err
