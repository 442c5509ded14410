# leukoct — the two commands a newcomer needs:
#   make book   environment, default data, every study step, the book
#   make test   the test suite
# Others: make lab (JupyterLab on the notebooks), make lint, make dag, make lock, make clean.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON   ?= python3.11
PROFILE  ?= demo
# ARMS=1: also run the profile's design arms (chapter 11; the study is not re-run);
# ARMS=rigid,cv_ensemble: only those arms.
ARMS     ?= 0
CORES    ?= $(shell nproc 2>/dev/null || echo 2)
# EXECUTOR=slurm: every job but the local bookkeeping is an sbatch job
# (workflow/profiles/slurm; account and partitions from SLURM_ACCOUNT,
# SLURM_PARTITION, SLURM_GPU_PARTITION), its SLURM log in build/<profile>/logs/slurm/.
EXECUTOR ?= local
VENV     := .venv
BIN      := $(VENV)/bin
LOCK     := requirements/lock.txt
STAMP    := $(VENV)/.leukoct-installed
# Every pip call after torch is constrained to the lock file, which pins
# torch==2.13.0: without it pip may replace the CPU torch with a newer CUDA build.
PIP      := $(BIN)/python -m pip --disable-pip-version-check

# The environment's tools first on PATH for every recipe (papermill, snakemake,
# jupyter-book, leukoct), whatever the caller's shell has activated.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Threads: leave one BLAS/ITK thread per Snakemake job; jobs give the parallelism.
export OMP_NUM_THREADS ?= 1
export MPLBACKEND := Agg

.PHONY: help book test lint lab dag lock clean env

help:
	@echo "make book   build the environment, the default (synthetic) data, run every step, render the book"
	@echo "make test   run the test suite"
	@echo "make lab    open JupyterLab on notebooks/"
	@echo "make lint   ruff on the code and notebooks (also a test, and a pre-commit hook)"
	@echo "options:    PROFILE=ci|demo|paper|real|path/to/profile.yaml  CORES=N  EXECUTOR=local|slurm  ARMS=1"

env: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "leukoct needs Python 3.11: make PYTHON=/path/to/python3.11"' \
	  || { echo "error: $(PYTHON) is not Python 3.11 (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -c $(LOCK) -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name leukoct --display-name "leukoct (.venv)" > /dev/null
	touch $@

book: $(STAMP)
	@# A run killed without cleaning up (SIGKILL, power loss) leaves Snakemake's
	@# lock; it is removed only when no Snakemake runs here (leukoct.workflow_lock).
	@$(BIN)/leukoct unlock-stale
ifeq ($(EXECUTOR),slurm)
	$(BIN)/snakemake --workflow-profile workflow/profiles/slurm --config profile=$(PROFILE) arms=$(ARMS) \
	  --slurm-logdir "$$($(BIN)/python -c 'from leukoct.config import load_profile; from leukoct.run import Run; print(Run(load_profile("$(PROFILE)")).slurm_logs)')" \
	  || { $(BIN)/leukoct failures; exit 1; }
else
	$(BIN)/snakemake --cores $(CORES) --config profile=$(PROFILE) arms=$(ARMS) --rerun-incomplete \
	  || { $(BIN)/leukoct failures; exit 1; }
endif
	@echo "time per step (the last time each ran):"
	@$(BIN)/leukoct timings --profile $(PROFILE)
	@$(BIN)/python -c 'from leukoct.config import load_profile; p = load_profile("$(PROFILE)"); print("book: file://" + str(p.outputs.book / "_build/html/index.html"))'

test: $(STAMP)
	@# Lint first: a style error fails in seconds, not after the suite.
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks

lab: $(STAMP)
	@# Jupyter refuses to run as root unless told; containers often run as root.
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

dag: $(STAMP)
	$(BIN)/snakemake --config profile=$(PROFILE) --dag

# Re-resolve the environment and rewrite the lock (run after changing
# dependencies in pyproject.toml; commit the result).
lock: $(STAMP)
	$(PIP) freeze --exclude-editable | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/' > $(LOCK).tmp
	{ echo "# Exact versions of leukoct's environment; 'make' passes this file to pip with -c."; \
	  echo "# Regenerate with 'make lock'."; cat $(LOCK).tmp; } > $(LOCK) && rm $(LOCK).tmp

clean:
	rm -rf build book/_build figures/*.png figures/*.pdf figures/*.csv figures/*.html figures/*.json
