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
from benchmark.data import BatchStream, build_dataset
from benchmark.identity import config_hash, setting_id
from benchmark.latent import latent_sampler
from benchmark.metrics.evaluator import METRICS, Evaluator, LatentModel
from benchmark.runconfig import effective
from benchmark.rundir import COMPLETED, DIVERGED, FAILED, FINISHED, MetricsLog
from benchmark.runtime import (
    progress_enabled,
    resolve_device,
    seed_everything,
    set_threads,
    slurm_job_id,
)
from benchmark.validate import ConfigError, validate

log = logging.getLogger(__name__)
assert resolvers  # imported for its side effect: the configs' resolvers are registered


# FID samples always come from this latent stream, so every evaluation of a run scores the same
# z (less noise along the curve) and evaluation never disturbs the training RNG.
EVAL_SEED_OFFSET = 1_000_003
# What the evaluator returns besides the protocol fields.
METRIC_KEYS = {key for metric in METRICS.values() for key in metric.keys}
# One device sync every this many steps to stop a diverged run early (not only at evaluations).
DIVERGENCE_CHECK_EVERY = 100


class LossMeter:
    """Running means of the objective's scalar logs between two evaluations.

    Sums stay on the device (no sync per step); NaN/inf is caught per step without a sync too,
    by remembering the first step at which a loss was not finite.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.first_bad_step = torch.tensor(-1, device=device)
        self.bad_keys: dict[str, torch.Tensor] = {}  # per key: non-finite at first_bad_step

    def add(self, step: int, logs: dict[str, Any]) -> None:
        for key, value in logs.items():
            v = torch.as_tensor(value, device=self.device, dtype=torch.float32).detach()
            self.sums[key] = self.sums.get(key, 0) + v
            self.counts[key] = self.counts.get(key, 0) + 1
            first = ~torch.isfinite(v) & ((self.first_bad_step < 0) | (self.first_bad_step == step))
            self.first_bad_step = torch.where(first, step, self.first_bad_step)
            self.bad_keys[key] = self.bad_keys.get(key, torch.zeros_like(first)) | first

    def diverged(self) -> tuple[int, str] | None:
        """(step, loss name) of the first non-finite loss, or None. Costs one sync."""
        step = int(self.first_bad_step)
        if step < 0:
            return None
        keys = [k for k, flag in self.bad_keys.items() if bool(flag)]
        return step, ",".join(keys)

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts),
                "first_bad_step": self.first_bad_step, "bad_keys": dict(self.bad_keys)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])
        self.first_bad_step, self.bad_keys = state["first_bad_step"], dict(state["bad_keys"])

    def means(self) -> dict[str, float]:
        out = {k: float(s) / self.counts[k] for k, s in self.sums.items()}
        self.sums, self.counts = {}, {}
        return out


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
            validate(cfg)
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


def train(cfg: DictConfig, out_dir: Path, metrics: MetricsLog, started: float,
          chash: str) -> dict[str, Any]:
    # --- setup: every object comes from the config ---------------------------------------
    set_threads(cfg.train.threads)
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    data = build_dataset(cfg.dataset).to(device)
    arch = instantiate(cfg.arch)
    objective = instantiate(cfg.gan.objective)
    shape = data.sample_shape
    G = arch.generator(cfg.z_dim, shape).to(device)
    D = objective.build_discriminator(arch, shape, cfg.z_dim, discriminator_norm(cfg)).to(device)
    betas = (cfg.gan.beta1, cfg.gan.beta2)
    opt_g = torch.optim.Adam(objective.generator_parameters(G, D), lr=cfg.gan.lr, betas=betas)
    opt_d = (torch.optim.Adam(D.parameters(), lr=cfg.gan.lr, betas=betas)
             if objective.trains_discriminator else None)
    batches = BatchStream(data.train, cfg.train.batch_size, seed=cfg.seed)
    # A full disk stops the run now, not at its first checkpoint (nets built: sizes known).
    check_space(cfg, out_dir, data, [G, D], [opt_g, opt_d],
                cfg.gan.n_disc if objective.trains_discriminator else 1)
    sample_z = latent_sampler(cfg.gan.latent, cfg.z_dim, device)
    # train.amp: bfloat16 autocast of the losses' forward passes (backward runs outside, as
    # autocast wants; bf16 needs no loss scaling). CUDA only: on a CPU the switch is ignored.
    use_amp = bool(cfg.train.get("amp", False))
    if use_amp and device.type != "cuda":
        log.warning("train.amp=true has no effect on %s (CUDA only); training in float32", device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp and device.type == "cuda")

    extractor = instantiate(cfg.features, data=data, device=str(device))
    fid = Evaluator(data, extractor, metrics=cfg.eval.metrics, num_samples=cfg.eval.num_samples,
                    reference_split=cfg.eval.reference_split, batch_size=cfg.eval.batch_size,
                    device=str(device),
                    # per-metric settings, e.g. the triangles metric's budgets (conf/dataset/triangles.yaml)
                    options=(OmegaConf.to_container(cfg.eval.options, resolve=True)
                             if cfg.eval.get("options") is not None else None))
    fid.reference()  # computed (or read from the cache) before training, not inside the first eval
    eval_gen = torch.Generator(device=device)

    def generate(n: int) -> torch.Tensor:
        return G(sample_z(n, generator=eval_gen))

    # --- resume: a checkpoint in the run dir continues the run exactly where it stopped ----
    meter = LossMeter(device)
    n_disc = cfg.gan.n_disc
    steps, eval_every = schedule(cfg, len(data.train),
                                 batches_per_step=n_disc if objective.trains_discriminator else 1)
    ckpt_every = cfg.train.checkpoint_every
    best: tuple[float, int] = (math.inf, 0)
    last: dict[str, Any] = {}
    done, train_s = 0, 0.0
    state = checkpoint.load_latest(out_dir, map_location=device)
    if state is not None and state["config_hash"] != chash:
        log.warning("checkpoints in %s belong to another config: starting over", out_dir)
        checkpoint.remove_all(out_dir)
        state = None
    if state is None:
        metrics.remove()  # a previous attempt's curve is not this run's
    else:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        if opt_d is not None:
            opt_d.load_state_dict(state["opt_d"])
        objective.load_state_dict(state["objective"])
        batches.load_state_dict(state["batches"])
        meter.load_state_dict(state["meter"])
        checkpoint.set_rng_state(state["rng"])
        done, train_s, last = state["step"], state["train_s"], state["last"]
        best = (state["best"][0], state["best"][1])
        metrics.truncate(after_step=done)  # evaluations made after the checkpoint come again

    def snapshot(step: int) -> dict[str, Any]:
        return {"config_hash": chash, "step": step, "G": G.state_dict(), "D": D.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict() if opt_d else None,
                "objective": objective.state_dict(), "batches": batches.state_dict(),
                "meter": meter.state_dict(), "rng": checkpoint.rng_state(),
                "best": [best[0], best[1]], "last": last,
                "train_s": train_s + time.time() - segment_started}

    # --- the loop ---------------------------------------------------------------------------
    bar = tqdm(total=steps, initial=done, desc=f"{cfg.gan.name}/{cfg.dataset.name}",
               unit="step", disable=not progress_enabled(cfg.train.progress), dynamic_ncols=True)
    segment_started = time.time()  # train_s counts training only, across resumes
    with checkpoint.StopSignals() as stop:
        for step in range(done + 1, steps + 1):
            # n_disc D steps, one fresh real batch each; the G step reuses the last one, so that
            # an epoch means what it means in the study (one real batch per D step).
            if objective.trains_discriminator:
                for _ in range(n_disc):
                    real = batches.next()
                    with amp:
                        d_loss, d_logs = objective.d_loss(G, D, real, sample_z(cfg.train.batch_size))
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    opt_d.step()
                    objective.after_d_step(D)
                meter.add(step, d_logs)
            else:
                real = batches.next()
            with amp:
                g_loss, g_logs = objective.g_loss(G, D, real, sample_z(cfg.train.batch_size))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            objective.after_g_step()
            meter.add(step, g_logs)
            bar.update(1)

            is_eval = step % eval_every == 0 or step == steps
            if is_eval or step % DIVERGENCE_CHECK_EVERY == 0:
                diverged = meter.diverged()
                if diverged is not None:
                    bad_step, bad_loss = diverged
                    log.warning("diverged at step %d: non-finite %s", bad_step, bad_loss)
                    metrics.append({"step": step, "wall_s": time.time() - started,
                                    "diverged": True, "losses": meter.means()})
                    bar.close()
                    checkpoint.remove_all(out_dir)
                    return {"status": DIVERGED, "steps_done": bad_step, "steps_planned": steps,
                            "epoch_size": epoch_size(cfg, len(data.train)),
                            "diverged_step": bad_step, "diverged_loss": bad_loss,
                            "best_fid": best[0] if best[1] else None,
                            "best_step": best[1] or None, **last}

            if is_eval:  # --- FID on a fixed latent stream, one line of metrics.jsonl --------
                eval_started = time.time()
                train_s += eval_started - segment_started
                eval_gen.manual_seed(cfg.seed + EVAL_SEED_OFFSET)
                G.eval()
                with torch.no_grad():
                    # G itself too: the triangles recall inverts it (gradients in z only)
                    scores = fid(generate, LatentModel(G, cfg.z_dim, cfg.gan.latent))
                    save_samples(generate, out_dir, step, eval_gen, cfg.seed + EVAL_SEED_OFFSET,
                                 image=data.is_image)
                G.train()
                segment_started = time.time()
                metrics.append({"step": step, "wall_s": time.time() - started, "train_s": train_s,
                                "eval_s": segment_started - eval_started, "epoch": batches.epoch,
                                "losses": meter.means(), **scores})
                if scores["fid"] < best[0]:
                    best = (scores["fid"], step)
                last = {"final_fid": scores["fid"], "final_step": step,
                        "final_metrics": {k: v for k, v in scores.items() if k in METRIC_KEYS},
                        "protocol": {k: v for k, v in scores.items() if k not in METRIC_KEYS}}
                bar.set_postfix(fid=f"{scores['fid']:.2f}")
                log.info("step %d  %s  (%s, n_gen=%d, n_real=%d)", step,
                         "  ".join(f"{k} {v:.4g}" for k, v in last["final_metrics"].items()),
                         scores["extractor"], scores["n_gen"], scores["n_real"])

            # --- checkpoint: periodically, and when SLURM (or a user) asks the run to stop -------
            if stop.received is not None or (ckpt_every and step % ckpt_every == 0 and step < steps):
                checkpoint.save(out_dir, step, snapshot(step))
                if stop.received is not None:
                    bar.close()
                    stop.forward()  # requeue (submitit) or Interrupted: resumes when relaunched
    bar.close()
    weights = G.state_dict()  # the trained G, for re-scoring later
    storage.atomic_write(out_dir / rundir.GENERATOR_FILE, lambda f: torch.save(weights, f))
    checkpoint.remove_all(out_dir)
    return {"status": COMPLETED, "steps_done": steps, "steps_planned": steps,
            "epoch_size": epoch_size(cfg, len(data.train)),
            "best_fid": best[0], "best_step": best[1],
            "train_s": train_s + time.time() - segment_started, **last}


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run(cfg, out_dir)
    except ConfigError as e:
        # A config mistake is the user's to fix: say which key, skip the traceback.
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
