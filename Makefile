# Partita: one entry point for every chore (STYLE.md rule 15). CI calls these
# targets only. `make` alone lists them.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
PYTEST_ARGS ?=
PY_SOURCES := src tests scripts
BENCH_ARGS ?=
BENCH_PEERS_ARGS ?=
PEERS_VENV ?= /tmp/peersvenv
PARTITA_BENCH_PEERS ?= ../shared/bench-peers

.DEFAULT_GOAL := help
.PHONY: help venv run test lint fmt protos protos-check bench bench-peers clean

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

bench: $(STAMP) ## Run the benchmarks, print one table (BENCH_ARGS='--quick' or '--only W1,W3')
	$(BIN)/python scripts/bench/run.py $(BENCH_ARGS)

# The peers (Temporal, DBOS, Prefect) come from the shared peer benchmark: its setup.sh
# installs them, pinned, into $(PEERS_VENV) from the package index. The harness samples RSS
# and CPU with psutil, which the Partita peer therefore needs in .venv too.
bench-peers: $(STAMP) ## Partita beside Temporal, DBOS and Prefect on the shared harness (PEERS='dbos-sqlite' or none)
	@test -f $(PARTITA_BENCH_PEERS)/harness.py || { \
		echo "bench-peers: no peer harness at $(PARTITA_BENCH_PEERS) (set PARTITA_BENCH_PEERS)"; exit 2; }
	@$(BIN)/python -c 'import psutil' 2>/dev/null || $(BIN)/python -m pip install -q 'psutil==7.2.2'
	@if [ "$(PEERS)" != "none" ] && [ ! -x $(PEERS_VENV)/bin/python ]; then \
		echo "bench-peers: installing the peers into $(PEERS_VENV) ($(PARTITA_BENCH_PEERS)/setup.sh)"; \
		PEERS_VENV=$(PEERS_VENV) bash $(PARTITA_BENCH_PEERS)/setup.sh || { \
			echo "bench-peers: the peers could not be installed (no package index here?);"; \
			echo "  'make bench-peers PEERS=none BENCH_PEERS_ARGS=--recorded' runs Partita alone"; \
			echo "  beside the peers' recorded results"; exit 2; }; \
	fi
	PARTITA_BENCH_PEERS=$(PARTITA_BENCH_PEERS) PEERS_VENV=$(PEERS_VENV) \
		$(BIN)/python scripts/bench/peers.py $(if $(PEERS),--peers "$(PEERS)") $(BENCH_PEERS_ARGS)

clean: ## Remove caches and build output (keeps .venv)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf
