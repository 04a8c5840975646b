"""analysis.summary reads run files only: synthetic run directories stand in for real runs."""

import json

import pytest

from analysis.summary import format_run, format_sweep, main


def _make_run(root, name, gan, lr, seed, fids, status="completed", corrupt=False, floor=None):
    d = root / name
    (d / ".hydra").mkdir(parents=True)
    (d / "config.yaml").write_text(f"gan:\n  name: {gan}\n  lr: {lr}\ndataset:\n  name: ring8\nseed: {seed}\n")
    lines = [json.dumps({"step": 100 * (i + 1), "wall_s": float(i), "fid": f, "extractor": "raw",
                         "n_gen": 64, "n_real": 100, "reference_split": "test",
                         **({} if floor is None else {"fid_floor": floor})})
             for i, f in enumerate(fids)]
    (d / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    result = {"status": status, "gan": gan, "dataset": "ring8", "seed": seed,
              "final_fid": fids[-1], "best_fid": min(fids), "best_step": 100, "wall_s": 1.0}
    (d / "result.json").write_text(json.dumps(result)[: 10 if corrupt else None])
    return d


def test_sweep_table_and_medians(tmp_path):
    runs = [_make_run(tmp_path, "a", "ns_gan", 1e-4, 0, [5.0, 3.0]),
            _make_run(tmp_path, "b", "ns_gan", 1e-4, 1, [6.0, 1.0]),
            _make_run(tmp_path, "c", "lsgan", 1e-4, 0, [4.0, 2.0]),
            _make_run(tmp_path, "d", "lsgan", 1e-4, 1, [4.0, 9.0], corrupt=True)]
    text = format_sweep(tmp_path, runs)
    assert "4 runs: 3 completed, 1 unfinished" in text
    assert "FID on ring8: extractor=raw, n_gen=64, n_real=100, reference=test" in text
    # ns_gan median of final FIDs 3.0 and 1.0 is 2.0; lsgan has one completed run
    ns = next(line for line in text.splitlines() if line.strip().startswith("ns_gan") and "2.000" in line)
    assert "1.000" in ns


def test_run_curve(tmp_path):
    d = _make_run(tmp_path, "a", "ns_gan", 1e-4, 0, [5.0, 3.0])
    text = format_run(d)
    assert "status: completed" in text and "3.000" in text and "extractor=raw" in text
    assert "floor" not in text  # a run from before the floor was recorded


def test_the_floor_is_shown_with_the_protocol(tmp_path):
    d = _make_run(tmp_path, "a", "ns_gan", 1e-4, 0, [5.0, 3.0], floor=0.125)
    assert "real-vs-real floor 0.125 (" in format_run(d)
    assert ("reference=test; real-vs-real floor 0.125"
            in format_sweep(tmp_path, [d]))


def test_cli_rejects_a_directory_without_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "neither a run" in capsys.readouterr().err
