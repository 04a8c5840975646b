"""7. The fixed cost of one sweep job: `gan-train` for one step with the local launcher
(process start, imports, data, reference statistics from the cache, one step, one evaluation,
the result files) against `python -c "import torch"`. Report only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmark import rundir
from perf.measure import REPO, Row, fmt_s


def _run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, peak RSS MB, exit code) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    if code != 0:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024, code


def one_step_job(run_dir: Path) -> list[str]:
    """gan-train for one step with the local launcher: the fixed cost of a sweep job."""
    exe = Path(sys.executable).with_name("gan-train")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "benchmark.train"]
    return [*head, "gan=ns_gan", "dataset=digits", "dataset.size=28", "features=raw",
            "train.steps=1", "eval.num_samples=64", "train.progress=false",
            f"hydra.run.dir={run_dir}"]


def run(quick: bool, workdir: Path) -> list[Row]:
    repeats = 1 if quick else 3
    env = {**os.environ, "GANBENCH_CACHE": str(workdir / "cache")}
    walls: dict[str, list[float]] = {"job": [], "torch": []}
    rss: list[float] = []
    codes = []
    # The first job computes the (small) reference stats; the full run does not time it.
    warm = 0 if quick else 1
    for i in range(warm + repeats):
        w, m, code = _run_child(one_step_job(workdir / f"job{i}"), env)
        codes.append(code)
        if i >= warm:
            walls["job"].append(w)
            rss.append(m)
            walls["torch"].append(_run_child([sys.executable, "-c", "import torch"], env)[0])
    result = json.loads((workdir / f"job{warm + repeats - 1}" / rundir.RESULT_FILE).read_text())
    ok = all(c == 0 for c in codes) and result["status"] == "completed" and result["steps_done"] == 1
    t_job, t_torch = min(walls["job"]), min(walls["torch"])
    return [Row("7. sweep job fixed cost: gan-train 1 step, local launcher (python -c 'import torch')",
                fmt_s(t_job), fmt_s(t_torch), f"{t_job / t_torch:.1f}x", "report only",
                f"result.json completed, 1 step; peak RSS {min(rss):.0f} MB" if ok
                else "job FAILED", holds=None if ok else False, correct=ok,
                numbers={"t_job": walls["job"], "t_torch": walls["torch"], "rss_mb": rss})]
