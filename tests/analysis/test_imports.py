"""The analysis reads run files through their owner (benchmark/rundir.py) and nothing else of the
training side: importing it must not pull in torch, Hydra, OmegaConf or any training module."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import analysis

# torch-free modules that own the run files and the run identity
ALLOWED = {"benchmark", "benchmark.rundir", "benchmark.identity", "benchmark.storage",
           "benchmark.selection"}


def test_analysis_never_imports_training_code_or_torch():
    modules = sorted(f"analysis.{m.name}" for m in pkgutil.walk_packages(analysis.__path__)
                     if m.name != "__main__")  # __main__ runs the CLI
    assert "analysis.collect" in modules and "analysis.cli" in modules
    code = (f"import sys, {', '.join(modules)}; "
            "bad = sorted(m for m in sys.modules if m in ('torch', 'hydra', 'omegaconf') or "
            "m.startswith(('torch.', 'hydra.', 'omegaconf.', 'benchmark'))); print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    imported = set(eval(done.stdout))
    assert imported <= ALLOWED, sorted(imported - ALLOWED)


def test_analysis_sources_import_only_the_run_file_owners():
    src = Path(analysis.__file__).parent
    for path in src.rglob("*.py"):
        for module in re.findall(r"^\s*(?:from|import)\s+((?:benchmark|torch)[\w.]*)",
                                 path.read_text(), re.M):
            assert module in ALLOWED, f"{path}: imports {module}"
