# Two commands: `make run` and `make test`. Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run tour test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/serve.sh

tour: $(VENV)/.run-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/tour.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.ledger_bench

clean:
	rm -rf $(VENV) .neocloud .pytest_cache .mypy_cache .ruff_cache .hypothesis
