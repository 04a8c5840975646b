"""What the SLURM cluster can take, asked of `sinfo` before anything is submitted: a sweep whose
every task sbatch would reject (GPUs on a cluster without, more CPUs or memory than a node has,
no such partition) is refused with the key to set, not submitted into sbatch's raw error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

KEY = "hydra.launcher"
# %P partition (default marked *), %G generic resources, %c CPUs per node, %m memory MB per node
SINFO_FORMAT = "%P|%G|%c|%m"
NO_GPU_ADVICE = (f"set {KEY}.gpus_per_node=0 (or null) to run on its CPUs, or "
                 f"{KEY}.partition to a partition with GPUs")


def _number(text: str) -> int:
    match = re.match(r"\d+", text.strip())
    return int(match.group()) if match else 0


def _gpus(gres: str) -> int:
    """GPUs per node in sinfo's %G ("gpu:4", "gpu:a100:8(S:0-1)", "(null)")."""
    total = 0
    for item in gres.split(","):
        parts = item.split("(")[0].split(":")
        if parts[0] == "gpu" and len(parts) > 1:
            total += _number(parts[-1])
    return total


def partitions() -> dict[str, dict[str, Any]]:
    """{partition: {"default", "gpus", "cpus", "mem_mb"}}: the largest node of each. Raises
    RuntimeError when sinfo cannot answer."""
    proc = subprocess.run(["sinfo", "-h", "-o", SINFO_FORMAT], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise RuntimeError(f"sinfo failed (exit {proc.returncode}): {first}")
    found: dict[str, dict[str, Any]] = {}
    for line in proc.stdout.splitlines():
        fields = line.split("|")
        if len(fields) != 4:
            continue
        name, gres, cpus, mem = fields
        default = name.endswith("*")
        entry = found.setdefault(name.rstrip("*"),
                                 {"default": default, "gpus": 0, "cpus": 0, "mem_mb": 0})
        entry["gpus"] = max(entry["gpus"], _gpus(gres))
        entry["cpus"] = max(entry["cpus"], _number(cpus))
        entry["mem_mb"] = max(entry["mem_mb"], _number(mem))
    return found


def problems(params: Mapping[str, Any]) -> list[str]:
    """Why sbatch would reject every task of this launcher config (hydra.launcher.*)."""
    found = _timing_problems(params)
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return [*found, "launcher=slurm: sbatch and sinfo are not on this machine's PATH: launch "
                        "from a machine that submits SLURM jobs (a login node; on this one "
                        "`make slurm-up` starts a local cluster)"]
    try:
        cluster = partitions()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return [*found, f"launcher=slurm: {e} (is the cluster up? `make slurm-up` starts the "
                        "local one)"]
    wanted = params.get("partition") or next((p for p, e in cluster.items() if e["default"]), None)
    if wanted not in cluster:
        listed = ", ".join(sorted(cluster)) or "none"
        what = f"{KEY}.partition={wanted}: no such partition" if wanted else \
            f"{KEY}.partition is unset and the cluster has no default partition"
        return [*found, f"{what} (sinfo lists: {listed})"]
    node = cluster[wanted]
    for key in ("gpus_per_node", "gpus_per_task"):
        asked = params.get(key) or 0
        if asked and not node["gpus"]:
            found.append(f"{KEY}.{key}={asked}: partition '{wanted}' has no GPUs (sinfo lists no "
                         f"gpu gres; sbatch would answer 'Invalid generic resource (gres) "
                         f"specification'): {NO_GPU_ADVICE}")
        elif asked > node["gpus"]:
            found.append(f"{KEY}.{key}={asked}: the nodes of partition '{wanted}' have at most "
                         f"{node['gpus']} GPUs")
    cpus = (params.get("cpus_per_task") or 1) * (params.get("tasks_per_node") or 1)
    if node["cpus"] and cpus > node["cpus"]:
        found.append(f"{KEY}.cpus_per_task={params.get('cpus_per_task')}: the nodes of partition "
                     f"'{wanted}' have at most {node['cpus']} CPUs; set it to {node['cpus']} "
                     "or fewer")
    mem_gb = params.get("mem_gb")
    if mem_gb and node["mem_mb"] and mem_gb * 1024 > node["mem_mb"]:
        found.append(f"{KEY}.mem_gb={mem_gb}: the nodes of partition '{wanted}' have "
                     f"{node['mem_mb'] / 1024:.1f} GB; set it lower, or null for the partition's "
                     "default")
    return found


def _timing_problems(params: Mapping[str, Any]) -> list[str]:
    """SLURM may signal up to ~60 s early: a task signalled before submitit's handler is up dies
    instead of being requeued (scripts/slurm/README.md)."""
    timeout_min, delay_s = params.get("timeout_min"), params.get("signal_delay_s") or 0
    if isinstance(timeout_min, int | float) and timeout_min * 60 <= delay_s + 60:
        return [f"{KEY}.timeout_min={timeout_min}: must exceed ({KEY}.signal_delay_s={delay_s} "
                "+ 60 s) / 60, or SLURM's early signal kills tasks before they can be requeued"]
    return []
