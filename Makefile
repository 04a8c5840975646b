# Every target bootstraps the virtual environment first if it is missing or stale.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ganbench-installed
DEMO_DIR := outputs/demo/$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing ganbench and its dependencies into $(VENV) (first time: ~1-2 min)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# The quick start's main job: a short NS GAN run on the embedded digits, FID over training.
demo: $(STAMP)
	$(BIN)/gan-train experiment=demo hydra.run.dir=$(DEMO_DIR)
	$(BIN)/python -m analysis.summary $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf outputs multirun .pytest_cache
