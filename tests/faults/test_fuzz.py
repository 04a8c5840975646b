"""Fuzzing (hypothesis) of the config validation and of every reader of a run's files.

- config validation: any value for a validated key is accepted or rejected with a ConfigError
  naming that key, never another exception; an accepted value can really be trained with.
- readers (analysis.collect, gan-status, benchmark.rundir, checkpoints, the metrics cache):
  random bytes, truncated files and random JSON are reported with the file's path (warning,
  `problem`/`corrupt` entry), never an uncaught exception.

Bounded: every test caps its examples and the file runs in well under 30 s on one core.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import socket
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from analysis.collect import collect, read_run
from benchmark import checkpoint
from benchmark.config_dir import compose
from benchmark.metrics.cache import compute_once
from benchmark.metrics.features import _load_checkpoint
from benchmark.metrics.stats import FeatureStats
from benchmark.rundir import MetricsLog, read_result
from benchmark.rundir import jsonable as _jsonable
from benchmark.status import format_report, sweep_status
from benchmark.validate import RULES, ConfigError, validate

FUZZ = settings(max_examples=80, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# --- strategies -------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats() | st.text(max_size=20) | st.sampled_from(["nan", "inf", "-inf", ""]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12)
STATUSES = ["completed", "diverged", "failed", "running", "", "COMPLETED"]
RESULT_KEYS = ["gan", "dataset", "seed", "sample", "hparams", "protocol", "final_fid", "best_fid",
               "final_step", "best_step", "steps_done", "steps_planned", "wall_s", "train_s",
               "config_hash", "host", "slurm_job_id", "error", "traceback", "hint",
               "diverged_step", "diverged_loss", "version", "final_metrics"]
# A result.json that looks almost right: a known status and known keys of random types.
result_like = st.fixed_dictionaries(
    {"status": st.sampled_from(STATUSES)},
    optional={k: json_values | scalars.filter(lambda v: not (isinstance(v, float)
                                                             and not math.isfinite(v)))
              for k in RESULT_KEYS})
metrics_record = st.fixed_dictionaries(
    {"step": st.integers(-5, 10**12) | json_values},
    optional={k: json_values | st.sampled_from(["nan", "inf"]) | st.floats(allow_nan=False)
              for k in ("fid", "kid", "epoch", "wall_s", "train_s", "losses", "extractor",
                        "n_gen", "n_real", "reference_split", "diverged")})


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _cut(data: bytes, frac: float) -> bytes:
    return data[: int(len(data) * frac)]


# A file's contents: random bytes, random JSON, almost-right JSON, or a truncated one of those.
def file_bytes(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    whole = st.binary(max_size=200) | json_values.map(_json_bytes) | shaped.map(_json_bytes)
    return whole | st.builds(_cut, whole, st.floats(0, 1))


metrics_file = st.lists(
    metrics_record.map(_json_bytes) | json_values.map(_json_bytes) | st.binary(max_size=40),
    max_size=6).map(lambda lines: b"\n".join(lines)) | st.binary(max_size=300)
metrics_file = metrics_file | st.builds(_cut, metrics_file, st.floats(0, 1))
_flat_config = st.dictionaries(st.sampled_from(["gan.name", "seed", "train.steps", "dataset.name",
                                               "x"]), json_values, max_size=4)
config_file = (st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
               | _flat_config.map(lambda d: _json_bytes({"schema_version": 2, "config": d}))
               | st.fixed_dictionaries({"config": json_values, "config_hash": json_values,
                                        "setting_id": json_values}).map(_json_bytes))


def _write(d: Path, files: dict[str, bytes | None]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if data is not None:
            (d / name).write_bytes(data)


# --- (a) config validation ----------------------------------------------------------------------

_BASE: dict[str, Any] = {}


def _base_cfg():
    """The real default config, composed once for the whole module (hypothesis reruns a test
    body many times: a fixture would be composed once anyway, and they do not mix)."""
    if "cfg" not in _BASE:
        _BASE["cfg"] = compose(["gan=wgan_gp"])
    return _BASE["cfg"].copy()


def test_base_config_is_valid():
    validate(_base_cfg())  # else every property below would be vacuous


@FUZZ
@given(key=st.sampled_from([k for k, _, _ in RULES]),
       value=scalars | json_values | st.sampled_from(["${nope}", "???", "${seed}"]))
@example(key="train.epochs", value=float("inf"))  # passed `> 0`, then crashed the schedule
@example(key="eval.metrics", value=5)  # list(5) raised TypeError inside validate
@example(key="seed", value=2**64)  # passed `>= 0`, then crashed torch.manual_seed
@example(key="train.epochs", value=1e300)  # steps = epochs x steps/epoch overflowed to inf
def test_validate_accepts_or_names_the_key(key, value):
    cfg = _base_cfg()
    try:
        OmegaConf.update(cfg, key, value, force_add=True)
    except Exception:  # OmegaConf refuses the value itself: no config can carry it
        assume(False)
    try:
        validate(cfg)
    except ConfigError as e:
        assert f"  {key}" in str(e), str(e)  # names the key it rejects
        return
    # Accepted: then it can be trained with (what the loop does with these values).
    from benchmark.train import EVAL_SEED_OFFSET, schedule

    got = OmegaConf.select(cfg, key)
    if isinstance(got, float):
        assert math.isfinite(got)
    steps, every = schedule(cfg, n_train=60_000, batches_per_step=5)
    assert isinstance(steps, int) and isinstance(every, int) and steps >= 1 and every >= 1
    torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET)


# --- (b) readers ------------------------------------------------------------------------------

@FUZZ
@given(result=file_bytes(result_like) | st.none(), metrics=metrics_file | st.none(),
       config=config_file | st.none(), running=st.booleans())
@example(result=b'{"status": "completed", "hparams": [1, 2]}', metrics=None, config=None,
         running=False)  # hparams not a dict
@example(result=b'{"status": "completed", "gan": 1, "hparams": {"gan": "x"}}', metrics=None,
         config=None, running=False)  # setting id sorted (key, value) pairs of mixed types
@example(result=b'{"status": "failed", "seed": 1.5}', metrics=None, config=None,
         running=False)  # a non-integral seed could not be cast to the Int64 column
@example(result=b'{"status": "completed", "protocol": {"extractor": [1]}}', metrics=None,
         config=None, running=False)
def test_collect_reports_bad_files_never_crashes(tmp_path_factory, result, metrics, config,
                                                 running):
    top = tmp_path_factory.mktemp("collect")
    run_dir = top / "dataset=ring8,seed=0"
    _write(run_dir, {"result.json": result, "metrics.jsonl": metrics, "config.json": config,
                     "running.json": b"{}" if running else None})
    (run_dir / ".hydra").mkdir()
    # a healthy sibling, so that the tables mix good and bad rows (types, protocols)
    good = top / "dataset=ring8,seed=1"
    _write(good, {"result.json": _json_bytes({
        "status": "completed", "gan": "ns_gan", "dataset": "ring8", "seed": 1, "final_fid": 1.0,
        "protocol": {"extractor": "raw", "extractor_id": "raw", "n_gen": 64, "n_real": 64,
                     "reference_split": "test"}})})

    row, _curves = read_run(str(run_dir))
    got = collect([top], jobs=1)
    assert got.summary.n_runs == 2
    runs = got.runs.set_index("run")
    status = runs.loc[run_dir.name, "status"]
    assert status in ("completed", "diverged", "failed", "running", "unfinished", "corrupt")
    if status == "corrupt":  # an unreadable result.json is said to be so, with the run's path
        assert any(run_dir.name in shown and "result.json" in what
                   for shown, what in got.summary.problems)
    if row["problem"]:
        assert any(shown.endswith(run_dir.name) for shown, _ in got.summary.problems)
    got.runs.to_parquet(tmp_path_factory.mktemp("pq") / "runs.parquet")  # one type per column
    shutil.rmtree(top)


_MULTIRUN = """\
hydra:
  sweep:
    dir: {sweep}
    subdir: ${{hydra.job.override_dirname}}
  sweeper:
    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper
    max_batch_size: null
    params: null
  launcher:
    submitit_folder: ${{hydra.sweep.dir}}/.submitit/%j
  overrides:
    task: ['seed=0,1']
  job:
    config:
      override_dirname: {{kv_sep: '=', item_sep: ',', exclude_keys: []}}
  runtime:
    choices: {{hydra/launcher: submitit_slurm}}
"""
running_like = st.fixed_dictionaries(
    {}, optional={"host": st.just(socket.gethostname()) | json_values,
                  "pid": st.integers(-(2**70), 2**70) | json_values,
                  "slurm_job_id": json_values, "started": json_values})


@FUZZ
@given(result=file_bytes(result_like), running=file_bytes(running_like))
@example(result=b'{"status": "failed", "slurm_job_id": 12}', running=b"{}")  # int job id
@example(result=b"{}", running=_json_bytes({"host": socket.gethostname(), "pid": 2**70}))
@example(result=b'{"status": "failed", "error": ""}', running=b"[" * 3000)
def test_status_reports_bad_files_never_crashes(tmp_path_factory, result, running):
    sweep = tmp_path_factory.mktemp("sweep")
    (sweep / "multirun.yaml").write_text(_MULTIRUN.format(sweep=sweep))
    _write(sweep / "seed=0", {"result.json": result})
    _write(sweep / "seed=1", {"running.json": running})
    report = sweep_status(sweep)
    assert report["total"] == 2
    (job0,) = [r for r in report["runs"] if r["name"] == "seed=0"]
    parsed = read_result(sweep / "seed=0")
    if parsed is None or parsed.get("status") not in ("completed", "diverged", "failed"):
        assert job0["status"] == "corrupt" and job0["file"] == str(sweep / "seed=0/result.json")
    else:
        assert job0["status"] == parsed["status"]
    text = format_report(report)
    assert "seed=1" in text  # the running job is listed, whatever its running.json held
    json.dumps(report, default=str)  # what --json prints
    shutil.rmtree(sweep)


@FUZZ
@given(data=file_bytes(result_like))
@example(data=b"\xff\xfe{}")  # not UTF-8: read_result raised UnicodeDecodeError
@example(data=b"[1, 2]")  # JSON but no object: the relaunch check called .get on a list
@example(data=b"[" * 3000)
def test_read_result_is_none_or_a_dict(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("result")
    (d / "result.json").write_bytes(data)
    got = read_result(d)
    assert got is None or isinstance(got, dict)
    shutil.rmtree(d)


@FUZZ
@given(lines=st.lists(metrics_record, min_size=1, max_size=5), tail=metrics_file,
       cut=st.floats(0, 1), after=st.integers(-1, 20))
def test_metrics_log_skips_bad_lines_with_a_warning(tmp_path_factory, lines, tail, cut, after):
    log = MetricsLog(tmp_path_factory.mktemp("metrics"))
    path = log.path
    for record in lines:
        log.append(record)
    whole = path.read_bytes()
    assert whole.endswith(b"\n") and whole.count(b"\n") == len(lines)  # one line per append
    path.write_bytes(whole + _cut(tail, cut))  # garbage after them, as a cut write leaves
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = log.read()
    # an evaluation needs an integer step; any other object is an unreadable line
    good = [json.loads(json.dumps(_jsonable(r))) for r in lines if type(r.get("step")) is int]
    assert records[: len(good)] == good
    n_bad = sum(1 for ln in path.read_bytes().splitlines() if ln.strip()) - len(records)
    assert (n_bad > 0) == any(str(path) in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log.truncate(after_step=after)  # what a resume does with it
        kept = log.read()
    assert all(isinstance(r["step"], int) and r["step"] <= after for r in kept)
    shutil.rmtree(path.parent)


def _random_state(value: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(value, buf)
    return buf.getvalue()


_REAL_CKPT: dict[str, bytes] = {}


def _real_checkpoint() -> bytes:
    if "b" not in _REAL_CKPT:
        net = torch.nn.Linear(4, 4)
        _REAL_CKPT["b"] = _random_state({"config_hash": "abc", "step": 10,
                                         "G": net.state_dict(), "rng": checkpoint.rng_state()})
    return _REAL_CKPT["b"]


checkpoint_bytes = (st.binary(max_size=300) | json_values.map(_random_state)
                    | st.builds(_cut, st.builds(_real_checkpoint), st.floats(0, 0.999)))


@FUZZ
@given(newest=checkpoint_bytes, older_ok=st.booleans())
@example(newest=_random_state({"step": 3}), older_ok=False)  # loads, but is no checkpoint
@example(newest=_random_state([1, 2]), older_ok=True)
def test_checkpoint_loader_skips_bad_files_with_their_path(tmp_path_factory, newest, older_ok):
    run_dir = tmp_path_factory.mktemp("ckpt")
    folder = run_dir / checkpoint.CHECKPOINT_DIR
    folder.mkdir()
    (folder / "step_000000020.pt").write_bytes(newest)
    if older_ok:
        (folder / "step_000000010.pt").write_bytes(_real_checkpoint())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = checkpoint.load_latest(run_dir)
    messages = " ".join(str(w.message) for w in caught)
    assert str(folder / "step_000000020.pt") in messages  # the bad one, by its path
    if older_ok:
        assert state is not None and state["step"] == 10
    else:
        assert state is None and "starting over" in messages
    shutil.rmtree(run_dir)


def _valid_stats() -> FeatureStats:
    return FeatureStats(mu=np.zeros(3), sigma=np.eye(3), n=10)


def _npz(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _stats_bytes() -> bytes:
    buf = io.BytesIO()
    s = _valid_stats()
    np.savez(buf, mu=s.mu, sigma=s.sigma, n=np.int64(s.n))
    return buf.getvalue()


arrays = st.sampled_from([np.zeros(0), np.zeros(3), np.eye(3), np.zeros((2, 5)), np.int64(1),
                          np.array(["x"]), np.float64("nan")])
stats_bytes = (st.binary(max_size=300)
               | st.builds(_cut, st.builds(_stats_bytes), st.floats(0, 0.999))
               | st.builds(lambda mu, sigma, n: _npz(mu=mu, sigma=sigma, n=n), arrays, arrays,
                           arrays)
               | st.builds(lambda a: _npz(other=a), arrays))


@FUZZ
@given(data=stats_bytes)
def test_stats_cache_recomputes_an_unreadable_file_and_says_which(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("stats") / "ring8-test-raw-0123.npz"
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = compute_once(path, _valid_stats, FeatureStats.save, FeatureStats.load)
    assert stats.dim == 3 and stats.n == 10
    try:
        FeatureStats.load(io.BytesIO(data))
        was_valid = True
    except Exception:
        was_valid = False
    if not was_valid:
        assert any(str(path) in str(w.message) for w in caught)  # recomputed, and said why
    FeatureStats.load(path)  # the file left behind is a good one
    shutil.rmtree(path.parent)


@FUZZ
@given(data=st.binary(max_size=200) | json_values.map(_random_state)
       | st.builds(_cut, st.builds(lambda: _random_state({"state_dict": {}})), st.floats(0, .99)))
def test_classifier_cache_recomputes_an_unreadable_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("clf") / "digits-0123.pt"
    path.write_bytes(data)
    fresh = {"state_dict": {"w": torch.ones(2)}, "test_accuracy": 0.9}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ckpt = compute_once(path, lambda: fresh, lambda c, p: torch.save(c, p), _load_checkpoint)
    if ckpt is not fresh:  # it loaded: only a dict with a state_dict may
        assert isinstance(ckpt, dict) and "state_dict" in ckpt
    else:
        assert any(str(path) in str(w.message) for w in caught)
    shutil.rmtree(path.parent)

