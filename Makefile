# Partita: one entry point for every chore (STYLE.md rule 15). CI calls these
# targets only. `make` alone lists them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PYTEST_ARGS ?=
PY_SOURCES := src tests scripts

.DEFAULT_GOAL := help
.PHONY: help venv run test lint fmt protos protos-check bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The virtualenv is rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

venv: $(STAMP) ## Create or update .venv from pyproject.toml

run: $(STAMP) ## Run the demo (scripts/demo.py)
	$(BIN)/python scripts/demo.py

test: $(STAMP) ## Run the tests (extra arguments: PYTEST_ARGS='-k foo')
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## Lint: ruff, formatting, mypy, import contracts, buf, generated-code drift
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd protos && ../$(BIN)/buf lint
	PYTHON=$(BIN)/python scripts/protos.sh --check

fmt: $(STAMP) ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format $(PY_SOURCES)
	$(BIN)/ruff check --fix $(PY_SOURCES)

protos: $(STAMP) ## Regenerate src/partita/v1 from protos/partita/v1/*.proto
	PYTHON=$(BIN)/python scripts/protos.sh

protos-check: $(STAMP) ## Fail if src/partita/v1 differs from what the protos generate
	PYTHON=$(BIN)/python scripts/protos.sh --check

bench: $(STAMP) ## Run the benchmarks (scripts/bench/run.py)
	@if [ -f scripts/bench/run.py ]; then \
		$(BIN)/python scripts/bench/run.py; \
	else \
		echo "no benchmarks yet"; \
	fi

clean: ## Remove caches and build output (keeps .venv)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf
