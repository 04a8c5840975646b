"""A sweep's plan: every job composed as `gan-train` will compose it, checked, and costed, before
anything is launched; written to `<sweep dir>/plan.jsonl`, which `gan-status` reads.

    gan-train +sweep=phase1_wide launcher=plan     the plan alone (conf/launcher/plan.yaml)
    gan-train +sweep=phase1_wide launcher=slurm    the same plan, then only what is left to run

One JSON object per job, in the sweep's order: `index`, `overrides`, `name` (the run dir under the
sweep dir: Hydra's override_dirname), `dir`, `config_hash` (benchmark/identity.py, of the config
benchmark/runconfig.py makes), `gan`, `dataset`, `sample`, `seed`, `features`, `d_steps`,
`g_steps`, `evaluations`, `gpu_hours` (an estimate, below), `status` (the run dir's now,
benchmark/rundir.py), `done` (a finished run of this config is there) and `problems` (why the
job would fail at start: benchmark/preflight.py; a job with problems is not launched).

Composing 4,000 jobs through Hydra one by one takes minutes (~0.2 s each); jobs differ mostly in
plain values (`sample=17`, `seed=3`), so each distinct set of the other overrides (config groups,
`+key=`, `~key`, ...) is composed once by Hydra and the plain ones are applied to a copy as
Hydra applies them (`OmegaConf.update(..., merge=True)` after the defaults are merged).
tests/test_plan.py checks the result against Hydra's own composition of each job.

Torch-free: benchmark/preflight.py (torch) is imported only when a plan is made.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark import rundir
from benchmark.identity import config_hash
from benchmark.storage import atomic_write

if TYPE_CHECKING:
    from hydra.core.config_loader import ConfigLoader
    from omegaconf import DictConfig

PLAN_FILE = "plan.jsonl"      # the whole sweep, rewritten by every launch
LAUNCH_FILE = "launch.jsonl"  # appended: which job went to which SLURM task, when
STANDARD_SUBDIR = "${hydra.job.override_dirname}"  # conf/config.yaml's hydra.sweep.subdir

# The cost estimate: docs/performance.md, "Scale on paper" (`make bench` --scale): ms of one D and
# one G step of the study's InfoGAN (full width, batch 64) on one CPU core, per objective and
# sample shape (H x W x C); tests/test_plan.py checks these against that table.
STEP_MS: dict[str, dict[str, tuple[float | None, float]]] = {
    "mm_gan": {"28x28x1": (184, 164), "32x32x3": (263, 269), "64x64x3": (1151, 1037)},
    "ns_gan": {"28x28x1": (180, 150), "32x32x3": (286, 245), "64x64x3": (1065, 1019)},
    "lsgan": {"28x28x1": (163, 161), "32x32x3": (310, 256), "64x64x3": (1211, 1133)},
    "wgan": {"28x28x1": (206, 155), "32x32x3": (289, 245), "64x64x3": (1396, 950)},
    "wgan_gp": {"28x28x1": (394, 182), "32x32x3": (653, 305), "64x64x3": (1963, 1359)},
    "dragan": {"28x28x1": (350, 149), "32x32x3": (579, 290), "64x64x3": (2715, 1008)},
    "began": {"28x28x1": (204, 214), "32x32x3": (282, 308), "64x64x3": (860, 1232)},
    "vae": {"28x28x1": (None, 165), "32x32x3": (None, 299), "64x64x3": (None, 1280)},
}
# The page's assumptions: a GPU runs a step 100x faster than one CPU core; an evaluation takes
# these seconds by features, plus the triangles metric's own (its fitting and inversion).
GPU_SPEEDUP = 100
EVAL_S = {"inception": 20.0, "classifier": 2.0, "raw": 2.0}
EVAL_S_DEFAULT = 2.0
EVAL_EXTRA_S = {"triangles": 10.0}
STUDY_ARCH = "benchmark.nets.infogan.InfoGAN"


@dataclass
class JobPlan:
    """One job of a sweep, as planned (one line of plan.jsonl)."""

    index: int
    overrides: list[str]
    name: str
    dir: str
    config_hash: str | None = None
    gan: str | None = None
    dataset: str | None = None
    sample: Any = None
    seed: Any = None
    features: str | None = None
    d_steps: int | None = None
    g_steps: int | None = None
    evaluations: int | None = None
    gpu_hours: float | None = None
    status: str = rundir.NOT_STARTED
    done: bool = False
    live: bool = False  # a live process trains in its dir now (an earlier launch's task)
    problems: list[str] = field(default_factory=list)

    @property
    def to_run(self) -> bool:
        """Neither finished nor trained elsewhere right now, and nothing stands in its way."""
        return not self.done and not self.live and not self.problems


@dataclass
class Plan:
    """A sweep's jobs, and the problems of the launcher itself (they hit every job to run)."""

    sweep_dir: Path
    jobs: list[JobPlan]
    launcher_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def to_run(self) -> list[JobPlan]:
        return [] if self.launcher_problems else [j for j in self.jobs if j.to_run]

    @property
    def blocked(self) -> list[JobPlan]:
        return [j for j in self.jobs if j.problems and not j.done]

    def problem_counts(self) -> list[tuple[str, int]]:
        """Each problem once, with the number of jobs (not done) it hits, most frequent first."""
        pending = [j for j in self.jobs if not j.done]
        counts = Counter(p for j in pending for p in dict.fromkeys(j.problems))
        n = len([j for j in pending if not j.live])
        counts.update({p: n for p in self.launcher_problems})
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def write(self) -> Path:
        """plan.jsonl in the sweep dir, atomically."""
        path = self.sweep_dir / PLAN_FILE
        data = "".join(json.dumps(rundir.jsonable(asdict(j)), sort_keys=True) + "\n"
                       for j in self.jobs).encode()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(data))
        return path

    def report(self) -> str:
        """The summary a launch prints: jobs, done, steps, the estimate, every problem once."""
        jobs, todo = self.jobs, [j for j in self.jobs if not j.done]
        live = [j for j in todo if j.live]
        lines = [f"plan: {_jobs(len(jobs))} -> {self.sweep_dir / PLAN_FILE}  "
                 f"({self.seconds:.0f} s)",
                 f"  already done   {sum(j.done for j in jobs):,} (completed or diverged, "
                 "same config)",
                 f"  to run         {len(todo) - len(live):,}"
                 + (f"  (+{len(live):,} training now, from an earlier launch)" if live else "")]
        for label, key in (("D steps", "d_steps"), ("G steps", "g_steps"),
                           ("evaluations", "evaluations")):
            lines.append(f"  {label:<14} {_total(jobs, key)} in all, {_total(todo, key)} to run")
        unknown = sum(j.gpu_hours is None for j in todo)
        hours = sum(j.gpu_hours or 0.0 for j in todo)
        lines.append(f"  estimate       {hours:,.{0 if hours >= 10 else 2}f} GPU-hours to run "
                     f"(docs/performance.md: per-step CPU costs / {GPU_SPEEDUP}, evaluations "
                     f"{EVAL_S['inception']:g} s with Inception, else {EVAL_S_DEFAULT:g} s)"
                     + (f"; {_jobs(unknown)} without a figure there (only the study's InfoGAN "
                        "and objectives are)" if unknown else ""))
        counts = self.problem_counts()
        if counts:
            lines.append("problems (each once, with the number of jobs it hits):")
            for problem, n in counts:
                head, *rest = problem.splitlines()
                lines.append(f"  [{_jobs(n)}] {head}")
                lines += [f"      {line.strip()}" for line in rest]
        return "\n".join(lines)


def _jobs(n: int) -> str:
    return f"{n:,} job{'' if n == 1 else 's'}"


def _total(jobs: Iterable[JobPlan], key: str) -> str:
    values = [getattr(j, key) for j in jobs]
    known = sum(v for v in values if v is not None)
    missing = sum(v is None for v in values)
    return f"{known:,}" + (f" (+{_jobs(missing)} unknown)" if missing else "")


# --- schedule and cost: benchmark/train.py's arithmetic, without the data -----------------------

def schedule(flat: Mapping[str, Any], n_train: int | None, batches_per_step: int
             ) -> tuple[int, int] | None:
    """(generator steps, steps between evaluations), as benchmark.train.schedule computes them
    from the flattened effective config; None when they need the train split's length and it is
    unknown."""
    steps, every = flat["train.steps"], flat["eval.every"]
    epochs, every_epochs = flat.get("train.epochs"), flat.get("eval.every_epochs")
    if epochs is None and every_epochs is None:
        return steps, every
    size = flat.get("dataset.epoch_size") or n_train
    if size is None:
        return None
    steps_per_epoch = int(size) / (flat["train.batch_size"] * batches_per_step)
    if epochs is not None:
        steps = max(1, round(epochs * steps_per_epoch))
    if every_epochs is not None:
        every = max(1, round(every_epochs * steps_per_epoch))
    return steps, every


def evaluations(steps: int, every: int) -> int:
    """Evaluations of a run: every `every` steps and at the last step (train.py's loop)."""
    return steps // every + (1 if steps % every else 0)


def gpu_hours(flat: Mapping[str, Any], shape: Sequence[int] | None, d_steps: int, g_steps: int,
              n_evals: int, features: str | None) -> float | None:
    """The page's estimate for one run, or None for what its table does not cover."""
    if shape is None or len(shape) != 3 or flat.get("arch._target_") != STUDY_ARCH \
            or flat.get("arch.width", 1.0) != 1.0:
        return None
    c, h, w = shape
    costs = STEP_MS.get(str(flat.get("gan.name")), {}).get(f"{h}x{w}x{c}")
    if costs is None:
        return None
    d_ms, g_ms = costs
    train_s = (d_steps * (d_ms or 0.0) + g_steps * g_ms) / 1000 / GPU_SPEEDUP
    metrics = flat.get("eval.metrics") or []
    eval_s = EVAL_S.get(features or "", EVAL_S_DEFAULT) + sum(EVAL_EXTRA_S.get(str(m), 0.0)
                                                              for m in metrics)
    return (train_s + n_evals * eval_s) / 3600


# --- composing each job as gan-train will ---------------------------------------------------------

class JobComposer:
    """Each job's task config and run dir, as Hydra makes them when the job runs: Hydra composes
    each distinct set of non-plain overrides once; plain `key=value` overrides are applied to a
    copy, as Hydra applies them (the module docstring)."""

    def __init__(self, master: DictConfig, loader: ConfigLoader) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        self.master, self.loader = master, loader
        self.parser = OverridesParser.create(config_loader=loader)
        self._parsed: dict[str, Any] = {}
        self._groups: dict[str, bool] = {}
        self._bases: dict[tuple[str, ...], tuple[Any, dict[str, str]]] = {}
        self.sweep_dir = Path(str(master.hydra.sweep.dir))
        raw_subdir = OmegaConf.to_container(master.hydra.sweep, resolve=False).get("subdir")
        self.standard_subdir = raw_subdir == STANDARD_SUBDIR
        spec = master.hydra.job.config.override_dirname
        self.exclude = set(spec.exclude_keys)
        self.item_sep, self.kv_sep = str(spec.item_sep), str(spec.kv_sep)

    def parse(self, line: str) -> Any:
        if line not in self._parsed:
            (self._parsed[line],) = self.parser.parse_overrides([line])
        return self._parsed[line]

    def is_group(self, key: str) -> bool:
        """Whether `key` names a config group (then Hydra composes another file for it)."""
        if key not in self._groups:
            parent, found = "", True
            for part in key.split("/"):
                if part not in self.loader.list_groups(parent):
                    found = False
                    break
                parent = f"{parent}/{part}" if parent else part
            self._groups[key] = found
        return self._groups[key]

    def _plain(self, override: Any) -> bool:
        value = override.value()
        return (not (override.is_delete() or override.is_add() or override.is_force_add())
                and override.package is None and not override.is_hydra_override()
                and not self.is_group(override.key_or_group)
                and (value is None or isinstance(value, str | int | float | bool)))

    def compose(self, overrides: Sequence[str]) -> tuple[DictConfig, dict[str, str]]:
        """(the task config gan-train receives, Hydra's group choices). Raises what Hydra or
        OmegaConf raise for an override that does not apply."""
        from omegaconf import OmegaConf, open_dict
        from omegaconf.errors import ConfigAttributeError, ConfigKeyError

        is_plain = {line: self._plain(self.parse(line)) for line in overrides}
        # a plain key that another override of this job also touches keeps Hydra's order there
        others = [self.parse(line).key_or_group for line in overrides if not is_plain[line]]
        for line in overrides:
            key = self.parse(line).key_or_group
            if is_plain[line] and any(_nested(key, other) for other in others):
                is_plain[line] = False
        plain = [self.parse(line) for line in overrides if is_plain[line]]
        signature = tuple(line for line in overrides if not is_plain[line])
        if signature not in self._bases:
            base = self.loader.load_sweep_config(self.master, list(signature))
            choices = OmegaConf.to_container(base.hydra.runtime.choices, resolve=False)
            with open_dict(base):
                del base["hydra"]  # as Hydra's run_job hands the config to the task
            self._bases[signature] = (base, choices)
        base, choices = self._bases[signature]
        cfg = copy.deepcopy(base)
        for override in plain:
            try:
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
            except (ConfigAttributeError, ConfigKeyError) as e:
                raise ValueError(f"Could not override '{override.key_or_group}'. To append to "
                                 f"your config use +{override.input_line}") from e
        return cfg, choices

    def subdir(self, overrides: Sequence[str], index: int) -> str:
        """The job's run dir under the sweep dir: Hydra's override_dirname (its rule: the job's
        own overrides, minus the excluded keys, sorted), or a full composition for another
        `hydra.sweep.subdir`."""
        if self.standard_subdir:
            lines = sorted(o.input_line for o in map(self.parse, overrides)
                           if not o.is_hydra_override() and o.key_or_group not in self.exclude)
            return re.sub("=", self.kv_sep, self.item_sep.join(lines))
        from omegaconf import open_dict

        cfg = self.loader.load_sweep_config(self.master, list(overrides))
        with open_dict(cfg.hydra.job):
            cfg.hydra.job.num, cfg.hydra.job.id = index, f"job_id_for_{index}"
        return str(cfg.hydra.sweep.subdir)


def _nested(a: str, b: str) -> bool:
    """Whether dotted keys a and b are the same node or one holds the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


# --- the plan -------------------------------------------------------------------------------------

def make_plan(master: DictConfig, jobs: Sequence[Sequence[str]], loader: ConfigLoader,
              check: Callable[[DictConfig], tuple[list[str], Any]] | None = None,
              progress: bool | None = None) -> Plan:
    """Plan every job: compose, make its effective config and identity, check it
    (benchmark.preflight.check unless `check` is given), schedule and cost it, and read its run
    dir. Never raises for a job: what goes wrong is that job's problem."""
    from tqdm import tqdm

    if check is None:
        from benchmark.preflight import check

    started = time.monotonic()
    composer = JobComposer(master, loader)
    out = []
    bar = tqdm(jobs, desc="plan", unit="job", leave=False,
               disable=None if progress is None else not progress)  # None: on at a terminal
    for index, overrides in enumerate(bar):
        out.append(_plan_job(composer, index, list(overrides), check))
    return Plan(composer.sweep_dir, out, seconds=time.monotonic() - started)


def _plan_job(composer: JobComposer, index: int, overrides: list[str],
              check: Callable[[DictConfig], tuple[list[str], Any]]) -> JobPlan:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from benchmark.runconfig import effective
    from benchmark.validate import ConfigError

    try:
        name = composer.subdir(overrides, index)
    except (HydraException, OmegaConfBaseException) as e:
        name = f"job_{index}"
        return JobPlan(index, overrides, name, str(Path.cwd() / composer.sweep_dir / name),
                       problems=[f"cannot compose: {_first_line(e)}"])
    job = JobPlan(index, overrides, name, str(Path.cwd() / composer.sweep_dir / name))
    try:
        cfg, choices = composer.compose(overrides)
        cfg, _, flat = effective(cfg)
    except ConfigError as e:
        from benchmark.preflight import config_problems

        job.problems = config_problems(e)
        return job
    except (HydraException, OmegaConfBaseException, ValueError) as e:
        job.problems = [f"cannot compose: {_first_line(e)}"]
        return job
    job.config_hash = config_hash(flat)
    job.gan, job.dataset = flat.get("gan.name"), flat.get("dataset.name")
    job.sample, job.seed, job.features = flat.get("sample"), flat.get("seed"), choices.get("features")
    problems, facts = check(cfg)
    job.problems = list(dict.fromkeys(problems))
    trains_d = getattr(facts, "trains_discriminator", True)
    n_disc = flat.get("gan.n_disc", 1) if trains_d else 1
    try:
        planned = schedule(flat, getattr(facts, "n_train", None), n_disc)
    except (TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError):
        planned = None  # a bad number: validate's problem, already in job.problems
    if planned is not None:
        job.g_steps = planned[0]
        job.d_steps = planned[0] * n_disc if trains_d else 0
        job.evaluations = evaluations(*planned)
        job.gpu_hours = gpu_hours(flat, getattr(facts, "shape", None), job.d_steps, job.g_steps,
                                  job.evaluations, job.features)
    _read_run_dir(job)
    return job


def _read_run_dir(job: JobPlan) -> None:
    run = rundir.load(job.dir, metrics=False) if os.path.isdir(job.dir) else None
    job.status = run.status if run is not None else rundir.NOT_STARTED
    result = run.result if run is not None else None
    job.done = bool(result and result.get("status") in rundir.FINISHED
                    and result.get("config_hash") == job.config_hash)
    job.live = job.status == rundir.RUNNING and rundir.holder_alive(job.dir) is True


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


# --- what gan-status reads ------------------------------------------------------------------------

def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int] | None:
    """(the JSON objects of a .jsonl file, lines skipped), or None when it does not exist."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    records, bad = [], 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def append_launches(sweep_dir: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Lines of launch.jsonl (a launcher's record of what it submitted), in one write."""
    data = "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in records).encode()
    with open(Path(sweep_dir) / LAUNCH_FILE, "ab") as f:
        f.write(data)
