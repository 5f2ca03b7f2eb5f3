# Two commands: `make run` and `make test`. Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run tour test system lint bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Ranges live in pyproject.toml; the exact versions installed are constraints.txt's.
PIP_INSTALL := $(BIN)/pip install --quiet -c constraints.txt

$(VENV)/.run-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[scenario]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev,scenario]'
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

# System packages the tests need (Slurm, munge, MariaDB), installed and started when missing.
system:
	bash scripts/system-packages.sh

test: system lint
	$(BIN)/pytest -n auto  # the tiers in parallel, one worker per core

# Every performance benchmark and one table of figures, references, ratios and targets (about 50 minutes).
bench: $(VENV)/.dev-installed
	command -v wrk >/dev/null && command -v pgbench >/dev/null \
	  || apt-get install -y -q --no-install-recommends wrk postgresql-client >/dev/null  # the HTTP load generators
	$(BIN)/python -m benchmarks.all

# Re-resolve every dependency within pyproject.toml's ranges into a fresh constraints.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev,scenario]'
	(head -n 2 constraints.txt && .lock-venv/bin/pip freeze --exclude-editable) > constraints.new
	mv constraints.new constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .neocloud .pytest_cache .mypy_cache .ruff_cache .hypothesis
