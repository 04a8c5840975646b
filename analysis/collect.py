"""`gan-analyze collect SWEEP_DIR... --out DIR`: run directories -> two tidy Parquet tables.

- `runs.parquet`: one row per run: status, gan, dataset, seed, sample, `setting` (the run's
  identity minus the seed, benchmark/identity.py: runs sharing it are seeds of one hyperparameter
  setting), `phase` (the study phase the run was launched in), `sweep` (its sweep dir), final/best
  FID and steps, wall time, the FID protocol (extractor, extractor_id, n_gen, n_real,
  reference_split, and its label `protocol`), the final value of every other metric
  (`final_<metric>`), the sampled hyperparameters (`hp.<key>`) and the whole effective config
  flattened into dotted columns (`gan.lr`, `gan.objective.penalty`, `train.epochs`, ...).
- `curves.parquet`: one row per run x evaluation x metric (run_id, step, epoch, wall_s, train_s,
  metric, value); losses appear as `loss.<name>`. `run_id` joins it to `runs`.

Partial, corrupt, diverged and failed runs keep a row; `status` says which, `problem` why a
file could not be read. Reads files only, through their one reader (benchmark/rundir.py, torch-free):
never the training code.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark import rundir
from benchmark.identity import config_hash, defines_setting  # noqa: F401 (stats uses it)
from benchmark.rundir import (
    COMPLETED,
    CORRUPT,
    DIVERGED,
    FAILED,
    RUNNING,
    UNFINISHED,
    number,
)

if TYPE_CHECKING:  # pandas is imported where the tables are built: workers do not need it
    import pandas as pd

RUNS_FILE, CURVES_FILE, SUMMARY_FILE = "runs.parquet", "curves.parquet", "collect_summary.json"
# rundir's vocabulary; not_started is a sweep-level state no run dir can be in
STATUSES = (COMPLETED, DIVERGED, FAILED, RUNNING, UNFINISHED, CORRUPT)

PROTOCOL_FIELDS = ("extractor", "extractor_id", "n_gen", "n_real", "reference_split")
# Fields of a metrics.jsonl record that are not metric values.
_NOT_METRICS = frozenset({"step", "wall_s", "train_s", "eval_s", "epoch", "losses", "diverged",
                          *PROTOCOL_FIELDS})
_RESULT_FIELDS = ("config_hash", "version", "host", "slurm_job_id", "steps_done", "steps_planned",
                  "final_step", "best_step", "wall_s", "train_s", "diverged_step",
                  "diverged_loss", "error", "phase")
_FLOAT_FIELDS = frozenset({"final_fid", "best_fid", "wall_s", "train_s"})
# Search ranges rather than the drawn point (which is in the config itself and in `hp.*`).
_DROPPED_PREFIXES = ("gan.search_space.", "search.params.")
_MAX_DEPTH = 4  # sweep dir -> ... -> run dir: Hydra's default multirun/<date>/<time>/<n> is 3
_PARALLEL_MIN = 1500  # fewer runs read faster in one process than a pool starts


def _overrides_from_name(name: str) -> dict[str, str]:
    # Hydra names sweep run dirs by their overrides (`dataset=mnist,gan=ns_gan,seed=0`): the
    # last resort for a run whose files say nothing.
    out = {}
    for part in name.split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key.lstrip("+~")] = value
    return out


_COLUMN_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _column_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The config keys kept as columns, memoised: the runs of a sweep share a few key sets."""
    kept = _COLUMN_KEYS.get(keys)
    if kept is None:
        kept = tuple(k for k in keys if not k.startswith(_DROPPED_PREFIXES))
        if len(_COLUMN_KEYS) < 10_000:
            _COLUMN_KEYS[keys] = kept
    return kept


def _hparams(result: dict[str, Any]) -> dict[str, Any]:
    hp = result.get("hparams")
    return hp if isinstance(hp, dict) else {}  # a hand-edited file may hold anything


def _curves(evaluations: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """(curve columns, summary: n_evals, first/last/best FID, last protocol, final metrics)."""
    steps: list[int] = []
    epochs: list[Any] = []
    walls: list[Any] = []
    trains: list[Any] = []
    names: list[str] = []
    values: list[float] = []
    out: dict[str, Any] = {"n_evals": 0, "first": None, "last": None, "best": (math.inf, None),
                           "protocol": None, "finals": {}}
    for rec in evaluations:
        n_before = len(values)
        for key, value in rec.items():
            if key in _NOT_METRICS:
                continue
            x = number(value)
            if x is not None:
                names.append(key)
                values.append(float(x))
                if key != "fid":
                    out["finals"][key] = float(x)
        losses = rec.get("losses")
        if isinstance(losses, dict):
            for key, value in losses.items():
                x = number(value)
                if x is not None:
                    names.append("loss." + key)
                    values.append(float(x))
        n_new = len(values) - n_before
        steps.extend([rec["step"]] * n_new)
        epochs.extend([number(rec.get("epoch"))] * n_new)
        walls.extend([number(rec.get("wall_s"))] * n_new)
        trains.extend([number(rec.get("train_s"))] * n_new)
        fid = number(rec.get("fid"))
        if fid is not None:
            fid = float(fid)
            out["n_evals"] += 1
            out["first"] = fid if out["first"] is None else out["first"]
            out["last"] = (fid, rec["step"])
            if fid < out["best"][0]:
                out["best"] = (fid, rec["step"])
            out["protocol"] = rec
    columns = {"step": steps, "epoch": epochs, "wall_s": walls, "train_s": trains,
               "metric": names, "value": values}
    return columns, out


def read_run(run_dir: str) -> tuple[dict[str, Any], dict[str, list[Any]]] | None:
    """(row, curve columns) of one run directory, or None when it holds no run's files.
    The files are read by benchmark/rundir.py, their one reader."""
    run = rundir.load(run_dir)
    if run is None:
        return None
    row: dict[str, Any] = {"run_dir": run_dir, "run": os.path.basename(run_dir),
                           "status": run.status}
    result, config = run.result, run.config
    curves, ev = _curves(run.evaluations)

    # --- identity -------------------------------------------------------------------------------
    names = _overrides_from_name(row["run"]) if not (result and config) else {}
    src = result or {}
    row["gan"] = src.get("gan") or config.get("gan.name") or names.get("gan")
    row["dataset"] = src.get("dataset") or config.get("dataset.name") or names.get("dataset")
    seed = src.get("seed", config.get("seed"))
    if seed is None and "seed" in names:
        try:
            seed = int(names["seed"])
        except ValueError:
            seed = None
    row["seed"] = seed
    row["sample"] = src["sample"] if "sample" in src else config.get("sample")
    if run.setting_id:
        row["setting"] = run.setting_id
    else:  # no config: what the result or the dir name says the setting is
        items = ([("gan", row["gan"]), ("dataset", row["dataset"]), ("sample", row["sample"]),
                  *_hparams(src).items()] if result else
                 [(k, v) for k, v in names.items() if k != "seed"])
        row["setting"] = "x" + config_hash(dict(items))[1:]

    # --- outcome ----------------------------------------------------------------------------------
    for key in _RESULT_FIELDS:
        value = src.get(key)
        row[key] = number(value) if key in _FLOAT_FIELDS else value
    row["phase"] = src.get("phase") or config.get("phase")
    if result is not None:
        row["final_fid"] = number(result.get("final_fid"))
        row["best_fid"] = number(result.get("best_fid"))
    else:  # no readable result: what the evaluations say so far
        row["final_fid"] = ev["last"][0] if ev["last"] else None
        row["final_step"] = ev["last"][1] if ev["last"] else None
        row["best_fid"] = ev["best"][0] if ev["best"][1] is not None else None
        row["best_step"] = ev["best"][1]
    row["first_fid"] = ev["first"]
    row["n_evals"] = ev["n_evals"]
    protocol = src.get("protocol") if isinstance(src.get("protocol"), dict) else ev["protocol"]
    for key in PROTOCOL_FIELDS:
        row[key] = protocol.get(key) if protocol else None
    for key, value in ev["finals"].items():
        row["final_" + key] = value
    row["problem"] = "; ".join(run.problems) if run.problems else None
    for key, value in _hparams(src).items():
        row["hp." + key] = json.dumps(value) if isinstance(value, list | dict) else value
    for key in _column_keys(tuple(config)):
        value = config[key]
        if isinstance(value, list | dict):
            value = json.dumps(value, default=str)  # one scalar type per column in Parquet
        if key in row:
            if key in ("seed", "sample", "phase"):
                continue
            key = "config." + key
        row[key] = value
    return row, curves


def _read_chunk(paths: Sequence[str]) -> list[tuple[dict[str, Any], dict[str, list[Any]]] | None]:
    return [read_run(p) for p in paths]


def _subdirs(path: str) -> list[str]:
    # Hidden dirs (.hydra, .submitit) and samples/ never hold runs.
    try:
        with os.scandir(path) as it:
            return sorted(e.path for e in it
                          if e.is_dir() and not e.name.startswith(".") and e.name != "samples")
    except OSError:
        return []


def default_jobs() -> int:
    """Worker processes for reading: the CPUs this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def _read_all(paths: list[str], jobs: int) -> list[Any]:
    if jobs <= 1 or len(paths) < _PARALLEL_MIN:
        return _read_chunk(paths)
    n_chunks = jobs * 4
    size = math.ceil(len(paths) / n_chunks)
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    import multiprocessing as mp

    # fork: workers inherit the imported modules, and nothing re-runs the caller's __main__
    # (forkserver/spawn fail for stdin scripts). From the CLI, no thread exists yet here:
    # pandas and pyarrow are imported after the files are read.
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        out: list[Any] = []
        for part in pool.map(_read_chunk, chunks):
            out.extend(part)
    return out


@dataclass
class CollectSummary:
    """What a collection found: counts per status, the problems, where and how fast."""

    sources: list[str]
    n_runs: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (run dir, what)
    seconds: float = 0.0

    def text(self, max_problems: int = 10) -> str:
        """A short human summary."""
        where = ", ".join(self.sources)
        lines = [f"collected {self.n_runs:,} runs from {where} in {self.seconds:.2f} s"]
        lines.append("  " + ", ".join(f"{self.counts.get(s, 0):,} {s}" for s in STATUSES))
        if self.problems:
            lines.append(f"  {len(self.problems):,} run(s) with unreadable files"
                         + (f" (first {max_problems}):" if len(self.problems) > max_problems else ":"))
            for run_dir, what in self.problems[:max_problems]:
                lines.append(f"    {run_dir}: {what}")
        if self.counts.get(DIVERGED):
            lines.append("  diverged runs keep their row; their FID counts as +inf in the statistics")
        if self.counts.get(FAILED) or self.counts.get(RUNNING) or self.counts.get(UNFINISHED) \
                or self.counts.get(CORRUPT):
            lines.append("  failed, running, unfinished and corrupt runs are left out of the statistics")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, "n_runs": self.n_runs, "counts": self.counts,
                "problems": [list(p) for p in self.problems], "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CollectSummary:
        return cls(sources=list(d.get("sources", [])), n_runs=int(d.get("n_runs", 0)),
                   counts=dict(d.get("counts", {})),
                   problems=[tuple(p) for p in d.get("problems", [])],
                   seconds=float(d.get("seconds", 0.0)))


@dataclass
class Collection:
    """The two tables and the summary of how they were read."""

    runs: pd.DataFrame
    curves: pd.DataFrame
    summary: CollectSummary


def collect(sources: Sequence[str | Path], jobs: int | None = None) -> Collection:
    """Read every run under `sources` (sweep dirs, run dirs, or folders of sweeps)."""
    started = time.perf_counter()
    jobs = default_jobs() if jobs is None else jobs
    records: list[tuple[str, tuple[dict[str, Any], dict[str, list[Any]]]]] = []
    seen: set[str] = set()
    for source in sources:
        top = os.path.abspath(source)
        if not os.path.isdir(top):
            raise FileNotFoundError(f"{source}: no such directory")
        candidates = [top] if rundir.is_run_dir(top) else _subdirs(top)
        for _ in range(_MAX_DEPTH):
            candidates = [c for c in candidates if c not in seen]
            seen.update(candidates)
            if not candidates:
                break
            deeper: list[str] = []
            for path, got in zip(candidates, _read_all(candidates, jobs), strict=True):
                if got is None:
                    deeper.extend(_subdirs(path))
                else:
                    got[0]["sweep_dir"] = top
                    got[0]["sweep"] = os.path.basename(top)
                    # how the user will recognise the run: the source as typed + the run's path
                    got[0]["_shown"] = os.path.normpath(
                        os.path.join(str(source), os.path.relpath(path, top)))
                    records.append((path, got))
            candidates = deeper
    runs, curves = _tables([r for _, r in records])
    summary = CollectSummary(sources=[str(s) for s in sources], n_runs=len(runs))
    counts = Counter(runs["status"]) if len(runs) else Counter()
    summary.counts = {s: int(counts.get(s, 0)) for s in STATUSES}
    if len(runs):
        bad = runs[runs["problem"].notna()]
        summary.problems = list(zip(bad["_shown"], bad["problem"], strict=True))
        runs = runs.drop(columns=["_shown"])
    summary.seconds = time.perf_counter() - started
    return Collection(runs, curves, summary)


RUN_COLUMNS = ("run_id", "gan", "dataset", "seed", "sample", "setting", "status", "final_fid",
                  "best_fid", "first_fid", "final_step", "best_step", "steps_done",
                  "steps_planned", "n_evals", "wall_s", "train_s", "protocol", *PROTOCOL_FIELDS,
                  "diverged_step", "diverged_loss", "error", "problem", "config_hash", "version",
                  "host", "slurm_job_id", "phase", "sweep", "run", "run_dir", "sweep_dir")
_INT_COLUMNS = ("seed", "sample", "final_step", "best_step", "steps_done", "steps_planned",
                "n_evals", "n_gen", "n_real", "diverged_step")


def protocol_label(n_gen: Any, reference_split: Any, extractor: Any) -> str:
    """The FID protocol in a few characters: `FID-10k/test, inception`."""
    try:
        n = int(n_gen)
        size = f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n / 1000:g}k" if n >= 1000 else str(n)
    except (TypeError, ValueError):
        size = "?"
    split = reference_split if isinstance(reference_split, str) and reference_split else "?"
    ext = extractor if isinstance(extractor, str) and extractor else "?"
    return f"FID-{size}/{split}, {ext}"


def _tables(records: list[tuple[dict[str, Any], dict[str, list[Any]]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    import numpy as np
    import pandas as pd

    rows = [r for r, _ in records]
    runs = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in RUN_COLUMNS if c != "run_id"})
    runs.insert(0, "run_id", np.arange(len(runs), dtype=np.int64))
    for col in _INT_COLUMNS:
        if col in runs:
            x = pd.to_numeric(runs[col], errors="coerce")
            if x.dtype.kind != "i":  # 1.5, inf, 2**70: no Int64 value; they become missing
                x = x.astype("float64")
                x = x.where(np.isfinite(x) & (x == np.floor(x)) & (x.abs() < 2**63))
            runs[col] = x.astype("Int64")
    for col in ("final_fid", "best_fid", "first_fid", "wall_s", "train_s"):
        if col in runs:
            runs[col] = pd.to_numeric(runs[col], errors="coerce").astype("float64")
    runs = _arrow_safe(runs)  # first: _fill_protocol hashes the values (no lists)
    _fill_protocol(runs)
    runs["protocol"] = [
        protocol_label(n, s, e) if isinstance(e, str) else None
        for n, s, e in zip(runs["n_gen"], runs["reference_split"], runs["extractor"], strict=True)]
    first = [c for c in RUN_COLUMNS if c in runs]
    runs = runs[first + [c for c in runs.columns if c not in first]]

    lengths = np.fromiter((len(c["value"]) for _, c in records), dtype=np.int64, count=len(records))
    def cat(key: str) -> list[Any]:
        out: list[Any] = []
        for _, c in records:
            out.extend(c[key])
        return out

    curves = pd.DataFrame({
        "run_id": np.repeat(np.arange(len(records), dtype=np.int64), lengths),
        "step": np.asarray(cat("step"), dtype=np.int64),
        "epoch": np.asarray(cat("epoch"), dtype=np.float64),
        "wall_s": np.asarray(cat("wall_s"), dtype=np.float64),
        "train_s": np.asarray(cat("train_s"), dtype=np.float64),
        "metric": pd.Categorical(cat("metric")),
        "value": np.asarray(cat("value"), dtype=np.float64),
    })
    return runs, curves


def _fill_protocol(runs: pd.DataFrame) -> None:
    # A run that diverged before its first evaluation, or failed, has no protocol of its own;
    # it belongs with the runs of its dataset evaluated the same way (config eval/features),
    # when those agree on one protocol; else with its dataset's, when that is unique.
    missing = runs["extractor"].isna()
    if not missing.any() or missing.all():
        return
    keys = [k for k in ("dataset", "eval.num_samples", "eval.reference_split", "features._target_")
            if k in runs]
    fields = list(PROTOCOL_FIELDS)
    by_config: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
    by_dataset: dict[Any, set[tuple[Any, ...]]] = {}
    for rec in runs.loc[~missing, keys + fields].drop_duplicates().itertuples(index=False):
        proto = tuple(rec[len(keys):])
        by_config.setdefault(tuple(rec[:len(keys)]), set()).add(proto)
        by_dataset.setdefault(rec[0], set()).add(proto)
    for idx in runs.index[missing]:
        found = by_config.get(tuple(runs.loc[idx, keys]))
        if found is None:
            found = by_dataset.get(runs.at[idx, "dataset"])
        if found and len(found) == 1:
            for k, v in zip(fields, next(iter(found)), strict=True):
                runs.at[idx, k] = v


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    # Parquet wants one type per column; a config key that is a number in one run and a string
    # in another (an override typed differently) becomes a string column.
    import pandas as pd

    for col in df.columns:
        s = df[col]
        if s.dtype != object:
            continue
        types = {type(v) for v in s.dropna()}
        if not types or types == {bool} or types == {str}:
            continue
        if types <= {int, float}:
            df[col] = pd.to_numeric(s, errors="coerce")
        else:
            df[col] = s.map(lambda v: v if v is None or isinstance(v, str) else
                            (None if isinstance(v, float) and math.isnan(v) else str(v)))
    return df


def save(collection: Collection, out_dir: str | Path) -> Path:
    """Write runs.parquet, curves.parquet and collect_summary.json into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    collection.runs.to_parquet(out / RUNS_FILE, index=False)
    collection.curves.to_parquet(out / CURVES_FILE, index=False)
    (out / SUMMARY_FILE).write_text(json.dumps(collection.summary.to_dict(), indent=2) + "\n")
    return out


def load_collected(out_dir: str | Path) -> Collection:
    """A collection written by `save`."""
    import pandas as pd

    out = Path(out_dir)
    runs = pd.read_parquet(out / RUNS_FILE)
    curves = pd.read_parquet(out / CURVES_FILE)
    summary_path = out / SUMMARY_FILE
    summary = (CollectSummary.from_dict(json.loads(summary_path.read_text()))
               if summary_path.exists() else CollectSummary(sources=[str(out)], n_runs=len(runs)))
    return Collection(runs, curves, summary)


def select(collection: Collection, gans: Sequence[str] | None = None,
           datasets: Sequence[str] | None = None) -> Collection:
    """Only the runs of these objectives and datasets (None: all), curves to match."""
    if not gans and not datasets:
        return collection
    runs = collection.runs
    if gans:
        runs = runs[runs["gan"].isin(list(gans))]
    if datasets:
        runs = runs[runs["dataset"].isin(list(datasets))]
    curves = collection.curves[collection.curves["run_id"].isin(runs["run_id"])]
    return Collection(runs, curves, collection.summary)


def load(sources: Sequence[str | Path], jobs: int | None = None) -> Collection:
    """Sweep/run dirs are collected; a directory written by `collect --out` (or a report
    directory, whose data/ is one) is read back."""
    if len(sources) == 1:
        for d in (Path(sources[0]), Path(sources[0]) / "data"):
            if (d / RUNS_FILE).is_file():
                return load_collected(d)
    return collect(sources, jobs=jobs)
