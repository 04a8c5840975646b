"""One training run, read top to bottom: config -> objects -> train loop -> FID -> result files.

    gan-train gan=wgan_gp dataset=digits train.steps=2000      (= python -m benchmark.train ...)

The loop knows no objective by name: objective, nets, dataset and feature extractor are all
built from the config's `_target_`s, and the objective supplies its own losses and hooks.
"""

from __future__ import annotations

import logging
import math
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from benchmark import __version__, checkpoint, composition, failures, resolvers, rundir, storage
from benchmark.composition import discriminator_norm
from benchmark.config_dir import CONF_DIR
from benchmark.data import BatchStream, Data, DatasetNotFoundError, build_dataset
from benchmark.identity import config_hash, setting_id
from benchmark.latent import latent_sampler
from benchmark.loss_meter import LossMeter
from benchmark.metrics.evaluator import Evaluator, LatentModel
from benchmark.objectives.base import Objective
from benchmark.preflight import require as require_startable
from benchmark.runconfig import effective
from benchmark.rundir import COMPLETED, DIVERGED, FAILED, FINISHED, MetricsLog
from benchmark.runtime import (
    progress_enabled,
    resolve_device,
    seed_everything,
    set_threads,
    slurm_job_id,
)
from benchmark.validate import ConfigError

log = logging.getLogger(__name__)
assert resolvers  # imported for its side effect: the configs' resolvers are registered


# FID samples always come from this latent stream, so every evaluation of a run scores the same
# z (less noise along the curve) and evaluation never disturbs the training RNG.
EVAL_SEED_OFFSET = 1_000_003
# One device sync every this many steps to stop a diverged run early (not only at evaluations).
DIVERGENCE_CHECK_EVERY = 100


def epoch_size(cfg: DictConfig, n_train: int) -> int:
    """Examples per epoch: the dataset's `epoch_size` (the study's unit, e.g. 50,000 on MNIST,
    whose split holds 60k), else the train split's length."""
    return int(cfg.dataset.get("epoch_size") or n_train)


def schedule(cfg: DictConfig, n_train: int, batches_per_step: int) -> tuple[int, int]:
    """(generator steps, steps between evaluations).

    `train.epochs` / `eval.every_epochs`, when set, win over `train.steps` / `eval.every`. As in
    the study, an epoch is `epoch_size(cfg)` examples with one real batch per D step, so an
    objective with n_disc=5 makes a fifth as many generator steps per epoch.
    """
    steps_per_epoch = epoch_size(cfg, n_train) / (cfg.train.batch_size * batches_per_step)
    steps, every = cfg.train.steps, cfg.eval.every
    if cfg.train.get("epochs") is not None:
        steps = max(1, round(cfg.train.epochs * steps_per_epoch))
    if cfg.eval.get("every_epochs") is not None:
        every = max(1, round(cfg.eval.every_epochs * steps_per_epoch))
    return steps, every


def save_samples(generate: Callable[[int], torch.Tensor], out_dir: Path, step: int,
                 gen: torch.Generator, seed: int, image: bool) -> None:
    """What the numbers mean, seen: an 8x8 grid of images, or 1,000 generated 2-D points (the
    analysis draws them as scatter plots, where mode collapse shows). Always the first z of the
    FID stream."""
    gen.manual_seed(seed)
    samples = generate(64 if image else 1000).float().cpu()
    if not image:
        rundir.write_points(out_dir, step, samples.numpy().reshape(len(samples), -1))
        return
    from torchvision.utils import save_image

    path = rundir.sample_path(out_dir, step, "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    storage.atomic_write(path, lambda f: save_image(samples, f, format="png", nrow=8, padding=1))


def check_space(cfg: DictConfig, out_dir: Path, data: Any, nets: list[torch.nn.Module],
                optimizers: list[torch.optim.Optimizer | None], batches_per_step: int) -> None:
    """StorageError, with the numbers, when out_dir's disk cannot take what this run will write
    (checkpoints of G, D and the optimisers, generator.pt, samples, metrics)."""
    steps, every = schedule(cfg, len(data.train), batches_per_step)
    n_evals = steps // every + 1
    ckpt = storage.checkpoint_bytes(nets, optimizers)
    per_sample = math.prod(data.sample_shape)
    sample = 64 * per_sample if data.is_image else 1000 * per_sample * 4  # png grid | npz points
    need = storage.estimate_run_bytes(ckpt, storage.module_bytes(nets[0]), n_evals, sample,
                                      periodic_checkpoints=bool(cfg.train.checkpoint_every))
    # a resumed run's checkpoints already take their place
    have = storage.files_bytes((out_dir / checkpoint.CHECKPOINT_DIR).glob("step_*.pt"))
    storage.check_free_space(out_dir, need, already_there=have)


def run(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """Train one GAN as the config says, writing the run's files (benchmark/rundir.py) into out_dir.

    A directory whose result.json already holds a completed or diverged run of the same identity
    (benchmark/identity.py) is left as it is and its result returned: relaunching a sweep reruns
    only what is missing. A directory another live process trains in raises rundir.RunBusy.
    """
    # Before anything is written: a read-only dir, or a file where a dir should be, stops here.
    ckpt_dir = out_dir / rundir.CHECKPOINT_DIR
    storage.check_writable([out_dir, *([ckpt_dir] if ckpt_dir.is_dir() else [])])
    started = time.time()
    cfg, hparams, flat = effective(cfg)
    with rundir.RunLock(out_dir):
        previous = rundir.read_result(out_dir)
        ident = {"config_hash": config_hash(flat), "setting_id": setting_id(flat)}
        if previous and previous["status"] in FINISHED \
                and previous.get("config_hash") == ident["config_hash"]:
            log.info("%s: already %s (config %s); nothing to do", out_dir, previous["status"],
                     ident["config_hash"])
            return previous
        result: dict[str, Any] = {
            **ident,
            "version": __version__,
            "gan": cfg.gan.name,
            **composition.describe(cfg),  # loss, penalty, norm: what the name is made of
            "dataset": cfg.dataset.name,
            "seed": cfg.seed,
            "sample": cfg.sample,
            "phase": cfg.get("phase"),
            "hparams": hparams,
            "host": socket.gethostname(),
            "slurm_job_id": slurm_job_id(),
        }
        rundir.write_config(out_dir, flat)  # the setting actually trained, for the analysis
        rundir.remove_result(out_dir)
        rundir.write_running(out_dir, started, result["slurm_job_id"])
        try:
            # the config, the data files, the FID weights, the arch against the data: a
            # ConfigError (one `error:`, exit 2) before anything is built
            require_startable(cfg)
            result.update(train(cfg, out_dir, MetricsLog(out_dir), started, ident["config_hash"]))
        except Exception as e:
            # A failed job still leaves a result, so status tools and the analysis can see it.
            sizes = [OmegaConf.select(cfg, k, throw_on_resolution_failure=False)
                     for k in ("train.batch_size", "eval.batch_size")]  # for an OOM's hint
            result.update(status=FAILED, **failures.describe(e, *sizes))
            result["wall_s"] = time.time() - started
            if "hint" in result:
                log.error("%s", result["hint"])
            try:
                rundir.write_result(out_dir, result)
            except OSError as write_error:  # a full disk may not take result.json either: say so
                log.error("run failed (%s) and its result could not be written: %s",
                          result["error"].splitlines()[0], write_error)
            raise
        finally:
            rundir.remove_running(out_dir)
        result["wall_s"] = time.time() - started
        rundir.write_result(out_dir, result)
    return result


# --- the loop's parts: build -> resume -> (step, evaluate, checkpoint)* -> finish --------------


@dataclass(eq=False)
class Setup:
    """What `build` makes of the config: data, nets, optimisers, the latent, the evaluator."""

    cfg: DictConfig
    device: torch.device
    data: Data
    G: torch.nn.Module
    D: torch.nn.Module
    objective: Objective
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None  # None when the objective trains no D (the VAE)
    batches: BatchStream
    sample_z: Callable[..., torch.Tensor]
    amp: torch.autocast
    evaluator: Evaluator
    eval_gen: torch.Generator  # the evaluations' own latent stream
    steps: int                 # generator steps planned
    eval_every: int
    batch_size: int            # read once: a config key may be an interpolation, parsed per read
    n_disc: int

    def generate(self, n: int) -> torch.Tensor:
        """n samples of G from the evaluation stream."""
        return self.G(self.sample_z(n, generator=self.eval_gen))


@dataclass(eq=False)
class TrainState:
    """Where the run stands: with the nets, optimisers, batch order and RNGs, what a checkpoint
    holds. `train_s` counts training only (no evaluations), across resumes: the time up to
    `since`, the start of the current stretch of training."""

    meter: LossMeter
    step: int = 0                            # generator steps done
    train_s: float = 0.0
    since: float = field(default_factory=time.time)
    best: tuple[float, int] = (math.inf, 0)  # (FID, step); step 0: no evaluation yet
    last: dict[str, Any] = field(default_factory=dict)  # final_* of the latest evaluation

    def train_seconds(self) -> float:
        return self.train_s + time.time() - self.since


# Called after every step's optimiser updates, before its evaluation and checkpoint (the
# performance benchmark times steps with it: perf/cases/train_step.py).
StepCallback = Callable[[int, TrainState], None]


def train(cfg: DictConfig, out_dir: Path, metrics: MetricsLog, started: float, chash: str,
          on_step: StepCallback | None = None) -> dict[str, Any]:
    """Train as `cfg` says into out_dir, resuming from its latest checkpoint; the result's
    status, steps and scores (run() adds the run's identity)."""
    setup = build(cfg, out_dir)
    state = resume(setup, out_dir, metrics, chash)
    bar = tqdm(total=setup.steps, initial=state.step, desc=f"{cfg.gan.name}/{cfg.dataset.name}",
               unit="step", disable=not progress_enabled(cfg.train.progress), dynamic_ncols=True)
    ckpt_every = cfg.train.checkpoint_every
    state.since = time.time()  # train_s counts training only, across resumes
    with checkpoint.StopSignals() as stop:
        for step in range(state.step + 1, setup.steps + 1):
            train_step(setup, state.meter, step)
            state.step = step
            bar.update(1)
            if on_step is not None:
                on_step(step, state)

            is_eval = step % setup.eval_every == 0 or step == setup.steps
            if is_eval or step % DIVERGENCE_CHECK_EVERY == 0:
                diverged = state.meter.diverged()  # one device sync
                if diverged is not None:
                    bar.close()
                    return stop_diverged(setup, state, metrics, started, out_dir, diverged)

            if is_eval:
                scores = evaluate(setup, state, metrics, started, out_dir)
                bar.set_postfix(fid=f"{scores['fid']:.2f}")

            # periodically, and when SLURM (or a user) asks the run to stop
            periodic = ckpt_every and step % ckpt_every == 0 and step < setup.steps
            if stop.received is not None or periodic:
                checkpoint.save(out_dir, step, snapshot(setup, state, chash))
                if stop.received is not None:
                    bar.close()
                    stop.forward()  # requeue (submitit) or Interrupted: resumes when relaunched
    bar.close()
    return finish(setup, state, out_dir)


def build(cfg: DictConfig, out_dir: Path) -> Setup:
    """Every object of the run, from the config's `_target_`s. Always in this order after the
    seed, so a relaunch builds the same initial weights whether it resumes or not."""
    set_threads(cfg.train.threads)
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    data = build_dataset(cfg.dataset).to(device)
    arch = instantiate(cfg.arch)
    objective = instantiate(cfg.gan.objective)
    shape = data.sample_shape
    G = objective.build_generator(arch, cfg.z_dim, shape).to(device)
    D = objective.build_discriminator(arch, shape, cfg.z_dim, discriminator_norm(cfg)).to(device)
    betas = (cfg.gan.beta1, cfg.gan.beta2)
    opt_g = torch.optim.Adam(objective.generator_parameters(G, D), lr=cfg.gan.lr, betas=betas)
    opt_d = (torch.optim.Adam(D.parameters(), lr=cfg.gan.lr, betas=betas)
             if objective.trains_discriminator else None)
    batches = BatchStream(data.train, cfg.train.batch_size, seed=cfg.seed)
    batches_per_step = cfg.gan.n_disc if objective.trains_discriminator else 1
    # A full disk stops the run now, not at its first checkpoint (nets built: sizes known).
    check_space(cfg, out_dir, data, [G, D], [opt_g, opt_d], batches_per_step)
    steps, eval_every = schedule(cfg, len(data.train), batches_per_step)
    sample_z = latent_sampler(cfg.gan.latent, cfg.z_dim, device)
    # train.amp: bfloat16 autocast of the losses' forward passes (backward runs outside, as
    # autocast wants; bf16 needs no loss scaling). CUDA only: on a CPU the switch is ignored.
    use_amp = bool(cfg.train.get("amp", False))
    if use_amp and device.type != "cuda":
        log.warning("train.amp=true has no effect on %s (CUDA only); training in float32", device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp and device.type == "cuda")

    extractor = instantiate(cfg.features, data=data, device=str(device))
    evaluator = Evaluator(data, extractor, metrics=cfg.eval.metrics,
                          num_samples=cfg.eval.num_samples,
                          reference_split=cfg.eval.reference_split,
                          batch_size=cfg.eval.batch_size, device=str(device),
                          # per-metric settings, e.g. the triangles metric's budgets
                          options=(OmegaConf.to_container(cfg.eval.options, resolve=True)
                                   if cfg.eval.get("options") is not None else None))
    evaluator.prepare()  # reference stats computed (or read) now, not inside the first evaluation
    return Setup(cfg, device, data, G, D, objective, opt_g, opt_d, batches, sample_z, amp,
                 evaluator, torch.Generator(device=device), steps, eval_every,
                 int(cfg.train.batch_size), int(cfg.gan.n_disc))


def resume(setup: Setup, out_dir: Path, metrics: MetricsLog, chash: str) -> TrainState:
    """The state of the latest usable checkpoint in out_dir, loaded into `setup`'s nets, optimisers,
    batch order and RNGs; or a fresh state (and an emptied metrics.jsonl) when there is none."""
    state = TrainState(LossMeter(setup.device))
    saved = checkpoint.load_latest(out_dir, map_location=setup.device)
    if saved is not None and saved["config_hash"] != chash:
        log.warning("checkpoints in %s belong to another config: starting over", out_dir)
        checkpoint.remove_all(out_dir)
        saved = None
    if saved is None:
        metrics.remove()  # a previous attempt's curve is not this run's
        return state
    setup.G.load_state_dict(saved["G"])
    setup.D.load_state_dict(saved["D"])
    setup.opt_g.load_state_dict(saved["opt_g"])
    if setup.opt_d is not None:
        setup.opt_d.load_state_dict(saved["opt_d"])
    setup.objective.load_state_dict(saved["objective"])
    setup.batches.load_state_dict(saved["batches"])
    state.meter.load_state_dict(saved["meter"])
    checkpoint.set_rng_state(saved["rng"])
    state.step, state.train_s, state.last = saved["step"], saved["train_s"], saved["last"]
    state.best = (saved["best"][0], saved["best"][1])
    metrics.truncate(after_step=state.step)  # evaluations made after the checkpoint come again
    return state


def snapshot(setup: Setup, state: TrainState, chash: str) -> dict[str, Any]:
    """What `resume` reads back (benchmark/checkpoint.py writes it)."""
    return {"config_hash": chash, "step": state.step, "G": setup.G.state_dict(),
            "D": setup.D.state_dict(), "opt_g": setup.opt_g.state_dict(),
            "opt_d": setup.opt_d.state_dict() if setup.opt_d else None,
            "objective": setup.objective.state_dict(), "batches": setup.batches.state_dict(),
            "meter": state.meter.state_dict(), "rng": checkpoint.rng_state(),
            "best": [state.best[0], state.best[1]], "last": state.last,
            "train_s": state.train_seconds()}


def train_step(setup: Setup, meter: LossMeter, step: int) -> None:
    """n_disc D steps, one fresh real batch each, then a G step that reuses the last batch, so
    that an epoch means what it means in the study (one real batch per D step)."""
    G, D, objective, opt_d = setup.G, setup.D, setup.objective, setup.opt_d
    batch_size = setup.batch_size
    if opt_d is not None:
        for _ in range(setup.n_disc):
            real = setup.batches.next()
            with setup.amp:
                d_loss, d_logs = objective.d_loss(G, D, real, setup.sample_z(batch_size))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            objective.after_d_step(D)
        meter.add(step, d_logs)
    else:
        real = setup.batches.next()
    with setup.amp:
        g_loss, g_logs = objective.g_loss(G, D, real, setup.sample_z(batch_size))
    setup.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    setup.opt_g.step()
    objective.after_g_step()
    meter.add(step, g_logs)


def evaluate(setup: Setup, state: TrainState, metrics: MetricsLog, started: float,
             out_dir: Path) -> dict[str, Any]:
    """The requested metrics on the fixed latent stream, the sample grid, one line of
    metrics.jsonl; the evaluator's scores."""
    cfg = setup.cfg
    eval_started = time.time()
    state.train_s += eval_started - state.since
    seed = cfg.seed + EVAL_SEED_OFFSET
    setup.eval_gen.manual_seed(seed)
    setup.G.eval()
    with torch.no_grad():
        # G itself too: the triangles recall inverts it (gradients in z only)
        scores = setup.evaluator(setup.generate, LatentModel(setup.G, cfg.z_dim, cfg.gan.latent))
        save_samples(setup.generate, out_dir, state.step, setup.eval_gen, seed,
                     image=setup.data.is_image)
    setup.G.train()
    state.since = time.time()
    metrics.append({"step": state.step, "wall_s": time.time() - started, "train_s": state.train_s,
                    "eval_s": state.since - eval_started, "epoch": setup.batches.epoch,
                    "losses": state.meter.means(), **scores})
    if scores["fid"] < state.best[0]:
        state.best = (scores["fid"], state.step)
    keys = setup.evaluator.keys
    state.last = {"final_fid": scores["fid"], "final_step": state.step,
                  "final_metrics": {k: v for k, v in scores.items() if k in keys},
                  "protocol": {k: v for k, v in scores.items() if k not in keys}}
    log.info("step %d  %s  (%s, n_gen=%d, n_real=%d)", state.step,
             "  ".join(f"{k} {v:.4g}" for k, v in state.last["final_metrics"].items()),
             scores["extractor"], scores["n_gen"], scores["n_real"])
    return scores


def stop_diverged(setup: Setup, state: TrainState, metrics: MetricsLog, started: float,
                  out_dir: Path, diverged: tuple[int, str]) -> dict[str, Any]:
    """A non-finite loss ends the run: one metrics line saying so, no checkpoints kept."""
    bad_step, bad_loss = diverged
    log.warning("diverged at step %d: non-finite %s", bad_step, bad_loss)
    metrics.append({"step": state.step, "wall_s": time.time() - started, "diverged": True,
                    "losses": state.meter.means()})
    checkpoint.remove_all(out_dir)
    return {"status": DIVERGED, "steps_done": bad_step, "steps_planned": setup.steps,
            "epoch_size": epoch_size(setup.cfg, len(setup.data.train)),
            "diverged_step": bad_step, "diverged_loss": bad_loss,
            "best_fid": state.best[0] if state.best[1] else None,
            "best_step": state.best[1] or None, **state.last}


def finish(setup: Setup, state: TrainState, out_dir: Path) -> dict[str, Any]:
    """The trained G saved (for re-scoring later), the checkpoints removed, the result."""
    weights = setup.G.state_dict()
    storage.atomic_write(out_dir / rundir.GENERATOR_FILE, lambda f: torch.save(weights, f))
    checkpoint.remove_all(out_dir)
    return {"status": COMPLETED, "steps_done": setup.steps, "steps_planned": setup.steps,
            "epoch_size": epoch_size(setup.cfg, len(setup.data.train)),
            "best_fid": state.best[0], "best_step": state.best[1],
            "train_s": state.train_seconds(), **state.last}


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run(cfg, out_dir)
    except ConfigError as e:
        # A config mistake is the user's to fix: say which key, skip the traceback.
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except DatasetNotFoundError as e:  # files absent, or a download that failed: say where
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except storage.StorageError as e:  # read-only or full output dir: the message says it all
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except checkpoint.Interrupted as e:
        log.warning("%s; relaunch to resume from %s", e, out_dir)
        sys.exit(128 + e.signum)
    except rundir.RunBusy as e:  # a relaunch while an earlier job still trains here
        log.warning("%s", e)
        return None
    log.info("status: %s  final FID: %s  best FID: %s (step %s)  -> %s", result["status"],
             result.get("final_fid"), result.get("best_fid"), result.get("best_step"), out_dir)
    return result.get("final_fid")


if __name__ == "__main__":
    main()
