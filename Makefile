# Every target bootstraps the virtual environment first if it is missing or stale.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ganbench-installed
DEMO_DIR := outputs/demo/$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo docs-example demo-run test lint bench venv clean slurm-up slurm-down

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing ganbench and its dependencies into $(VENV) (first time: ~1-2 min)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# The quick start's main job: a miniature of the study on CPU through the commands a cluster user
# runs (search -> best settings -> seeds -> report; conf/sweep/demo_search.yaml): ~4.5 min on 2
# cores. Relaunching skips the runs already finished; `make clean` starts over.
DEMO := multirun/demo
demo: $(STAMP)
	$(BIN)/gan-train +sweep=demo_search
	$(BIN)/gan-analyze best $(DEMO)/search --out $(DEMO)/best.json
	$(BIN)/gan-train +sweep=demo_seeds best=$(DEMO)/best.json
	$(BIN)/python -m analysis.summary $(DEMO)/seeds
	$(BIN)/gan-analyze report $(DEMO)/search $(DEMO)/seeds --out $(DEMO)/report
	@echo "report: $(CURDIR)/$(DEMO)/report/index.md"

# The example report in docs/ that the README links: the demo's, regenerated with this code.
docs-example: demo
	rm -rf docs/demo_report
	cp -r $(DEMO)/report docs/demo_report

# One short NS GAN run on the digits, FID over training (conf/experiment/demo.yaml).
demo-run: $(STAMP)
	$(BIN)/gan-train experiment=demo hydra.run.dir=$(DEMO_DIR)
	$(BIN)/python -m analysis.summary $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Hot paths against a peer doing the same work, one table, and the study's cost on paper
# (perf/, docs/performance.md): ~25 min on 2 cores; `make bench BENCH_ARGS=--quick` a few.
BENCH_ARGS ?= --scale
bench: $(STAMP)
	$(BIN)/python -m perf $(BENCH_ARGS)

# A single-node SLURM cluster on localhost (Debian/Ubuntu, root): to try launcher=slurm.
slurm-up:
	bash scripts/slurm/up.sh

slurm-down:
	bash scripts/slurm/down.sh

clean:
	rm -rf outputs multirun .pytest_cache
