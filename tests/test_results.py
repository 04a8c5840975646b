import json

from omegaconf import OmegaConf

from benchmark.results import MetricsLog, atomic_write_json, config_hash


def test_atomic_write_json_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "result.json"
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2, "x": float("nan")})
    assert json.loads(path.read_text()) == {"a": 2, "x": "nan"}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_metrics_log_appends_lines(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.append({"step": 1, "fid": 3.5})
    log.append({"step": 2, "fid": float("inf")})
    assert log.read() == [{"step": 1, "fid": 3.5}, {"step": 2, "fid": "inf"}]


def test_config_hash_ignores_hydra_node_and_tracks_values():
    a = OmegaConf.create({"gan": {"lr": 1e-4}, "hydra": {"run": {"dir": "x"}}})
    b = OmegaConf.create({"gan": {"lr": 1e-4}, "hydra": {"run": {"dir": "y"}}})
    c = OmegaConf.create({"gan": {"lr": 2e-4}})
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(c)
    assert len(config_hash(a)) == 16
