"""The study's phase 1 on paper: every objective's measured step cost at each dataset's shape,
times the steps the phase's configs plan, at an assumed GPU speed-up (`--scale`, minutes).

The study's facts come from the configs, as the sweep composes them: which objectives, datasets
and samples (conf/sweep/phase1_wide.yaml), each dataset's epoch and epochs (`epoch_size`,
`study_epochs` in conf/dataset), the evaluation interval, each objective's n_disc. What only the
data knows (a sample's shape, the train split's length) comes from the preflight check, which
reads no file; steps and evaluations are counted by the loop's own `schedule`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmark.composition import discriminator_norm
from benchmark.config_dir import compose
from benchmark.latent import latent_sampler
from benchmark.preflight import Facts, check
from benchmark.train import schedule
from perf.measure import Row, threads, timed

SWEEP = "phase1_wide"
# Assumptions, not measured: seconds of one evaluation of 10k samples on a GPU, by extractor,
# plus the triangles metric's fitting and inversion (~10 s of a CPU core, metrics/triangles.py).
EVAL_S = {"inception": 20.0, "classifier": 2.0, "raw": 2.0}
EVAL_EXTRA_S = {"triangles": 10.0}


def study_grid(sweep: str = SWEEP) -> tuple[list[str], list[str], int]:
    """(objectives, datasets, samples) of the sweep's grid, as its sweeper params list them."""
    params = compose([f"+sweep={sweep}"], return_hydra_config=True).hydra.sweeper.params
    span = re.fullmatch(r"range\((\d+),\s*(\d+)\)", str(params["sample"]).strip())
    samples = int(span.group(2)) - int(span.group(1)) if span else len(str(params["sample"]).split(","))
    return str(params["gan"]).split(","), str(params["dataset"]).split(","), samples


def job_config(gan: str, dataset: str, sweep: str = SWEEP) -> DictConfig:
    """One job of the sweep at the objective's default setting (sample 0)."""
    return compose([f"+sweep={sweep}", f"gan={gan}", f"dataset={dataset}", "sample=0"])


def data_facts(cfg: DictConfig) -> Facts:
    """A sample's shape, the train split's length, whether the objective trains D."""
    facts = check(cfg)[1]  # its problems (files or weights missing here) do not matter on paper
    if facts.shape is None or facts.n_train is None:
        raise ValueError(f"{cfg.dataset.name}: no shape or train split length: {facts.problems}")
    return facts


def planned(cfg: DictConfig, facts: Facts) -> dict[str, int]:
    """D steps, G steps and evaluations of a job, counted as the loop counts them."""
    trains_d = facts.trains_discriminator
    n_disc = cfg.gan.n_disc if trains_d else 1
    steps, every = schedule(cfg, int(facts.n_train or 0), batches_per_step=n_disc)
    return {"d_steps": steps * n_disc if trains_d else 0, "g_steps": steps,
            "evals": steps // every + (1 if steps % every else 0)}


def eval_seconds(cfg: DictConfig) -> float:
    extractor = str(cfg.features._target_).rsplit(".", 1)[-1].removesuffix("Features").lower()
    return EVAL_S[extractor] + sum(EVAL_EXTRA_S.get(m, 0.0) for m in cfg.eval.metrics)


class OpCounter:
    """Counts aten ops and their FLOPs (torch's flop formulas) as they run. A dispatch mode
    without FlopCounterMode's module tracking, which breaks on double backward (gradient
    penalties)."""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils.flop_counter import flop_registry

        counter = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                counter.ops += 1
                flops = flop_registry.get(func._overloadpacket)
                if flops is not None:
                    counter.flops += flops(*args, **kwargs, out_val=out)
                return out

        self.ops, self.flops, self.mode = 0, 0, _Mode()

    def __enter__(self) -> OpCounter:
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.mode.__exit__(*exc)


def step_costs(cfg: DictConfig, shape: tuple[int, ...], batch: int, repeats: int = 2) -> dict[str, float]:
    """CPU seconds (1 thread; best of `repeats` after a counted warm-up) of one D step and one
    G step of cfg's objective and architecture at `shape`, their FLOPs and op counts."""
    with threads(1):
        torch.manual_seed(0)
        arch = instantiate(cfg.arch)
        objective = instantiate(cfg.gan.objective)
        G = objective.build_generator(arch, cfg.z_dim, shape)
        D = objective.build_discriminator(arch, shape, cfg.z_dim, discriminator_norm(cfg))
        opt_g = torch.optim.Adam(objective.generator_parameters(G, D), lr=1e-4)
        opt_d = torch.optim.Adam(D.parameters(), lr=1e-4) if objective.trains_discriminator else None
        z = latent_sampler(cfg.gan.latent, cfg.z_dim, torch.device("cpu"))
        real = torch.rand(batch, *shape)

        def d_step() -> None:
            loss, _ = objective.d_loss(G, D, real, z(batch))
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
            objective.after_d_step(D)

        def g_step() -> None:
            loss, _ = objective.g_loss(G, D, real, z(batch))
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            objective.after_g_step()

        out = {"params": float(sum(p.numel() for m in (G, D) for p in m.parameters())),
               "d_s": 0.0, "d_flops": 0.0, "d_ops": 0.0}
        for kind, fn in {"g": g_step, **({"d": d_step} if opt_d is not None else {})}.items():
            with OpCounter() as counter:
                fn()
            out[f"{kind}_flops"], out[f"{kind}_ops"] = float(counter.flops), float(counter.ops)
            out[f"{kind}_s"] = min(timed(fn)[1] for _ in range(repeats))
    return out


def phase_cost(costs: Callable[[str, tuple[int, ...]], dict[str, float]],
               gpu_speedup: float, sweep: str = SWEEP) -> Iterator[dict[str, Any]]:
    """Per (objective, dataset) of the sweep: the step costs `costs(gan, shape)` and the GPU
    hours of one job and of all its samples, a GPU step being `gpu_speedup` times a CPU one."""
    gans, datasets, samples = study_grid(sweep)
    for gan in gans:
        for dataset in datasets:
            cfg = job_config(gan, dataset, sweep)
            facts = data_facts(cfg)
            c, plan = costs(gan, tuple(facts.shape or ())), planned(cfg, facts)
            gpu_s = ((plan["d_steps"] * c["d_s"] + plan["g_steps"] * c["g_s"]) / gpu_speedup
                     + plan["evals"] * eval_seconds(cfg))
            yield {"gan": gan, "dataset": dataset, "n_disc": cfg.gan.n_disc, **plan,
                   "cpu_d_ms": c["d_s"] * 1e3, "cpu_g_ms": c["g_s"] * 1e3,
                   "gflop_d": c["d_flops"] / 1e9, "gflop_g": c["g_flops"] / 1e9,
                   "ops_d": c["d_ops"], "ops_g": c["g_ops"], "params_m": c["params"] / 1e6,
                   "gpu_h_per_run": gpu_s / 3600, "gpu_h_all": gpu_s / 3600 * samples}


def print_scale(rows: list[dict[str, Any]], gpu_speedup: float) -> None:
    gans, datasets, samples = study_grid()
    print(f"\nScale on paper: {SWEEP} = {len(gans)} objectives x {len(datasets)} datasets x "
          f"{samples} samples at each objective's defaults; GPU step = CPU step (1 thread, "
          f"measured) / {gpu_speedup:g} (assumption)")
    print(f"{'gan':8} {'dataset':14} {'n_disc':>6} {'D ms':>8} {'G ms':>8} {'GF D':>6} {'GF G':>6} "
          f"{'ops D':>6} {'ops G':>6} {'params M':>8} {'GPU-h/run':>9} {'GPU-h all':>10}")
    for r in rows:
        print(f"{r['gan']:8} {r['dataset']:14} {r['n_disc']:>6} {r['cpu_d_ms']:>8.0f} "
              f"{r['cpu_g_ms']:>8.0f} {r['gflop_d']:>6.1f} {r['gflop_g']:>6.1f} "
              f"{r['ops_d']:>6.0f} {r['ops_g']:>6.0f} {r['params_m']:>8.1f} "
              f"{r['gpu_h_per_run']:>9.2f} {r['gpu_h_all']:>10.0f}")
    print(f"total: {sum(r['gpu_h_all'] for r in rows):,.0f} GPU-hours for "
          f"{len(rows) * samples:,} runs")


def run(quick: bool, workdir: Path, gpu_speedup: float = 100.0) -> list[Row]:
    measured: dict[tuple[str, tuple[int, ...]], dict[str, float]] = {}

    def costs(gan: str, shape: tuple[int, ...]) -> dict[str, float]:
        if (gan, shape) not in measured:  # one measurement per objective and shape
            cfg = job_config(gan, "mnist")
            measured[gan, shape] = step_costs(cfg, shape, cfg.train.batch_size)
        return measured[gan, shape]

    rows = list(phase_cost(costs, gpu_speedup))
    print_scale(rows, gpu_speedup)
    total = sum(r["gpu_h_all"] for r in rows)
    return [Row(f"scale. {SWEEP} on paper, GPU step = CPU step / {gpu_speedup:g}",
                f"{total:,.0f} GPU-h", "", "", "report only", "assumptions: docs/performance.md",
                numbers={"rows": rows, "gpu_speedup": gpu_speedup})]
