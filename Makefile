# Flare. `make run` starts the bot on SQLite; `make test` runs lint, types and the whole suite.
# Both create or refresh .venv first (only when pyproject.toml changed).

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
SHELL  := /bin/bash
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run try lock test deps lint typecheck pytest bench migrate check-config clean help
.DEFAULT_GOAL := help

help:
	@echo "make run           start Flare on the embedded SQLite database (creates .env and flare.yaml)"
	@echo "make try           Flare against a fake Slack: start both, send /incident help, show what happened"
	@echo "make test          ruff, mypy and the whole test suite (TEST_DATABASE_URL=postgresql+asyncpg://... for PostgreSQL)"
	@echo "make lock          re-resolve requirements/*.txt (hashed) after changing pyproject.toml"
	@echo "make bench         run the benchmarks and print a table"
	@echo "make check-config  validate flare.yaml"

# Installs exactly what requirements/dev.txt pins, each file checked against its sha256 (uv, itself
# pinned and hashed in requirements/bootstrap.txt, does the install in seconds), then Flare itself.
$(STAMP): pyproject.toml requirements/dev.txt requirements/bootstrap.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Flare needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Flare and its locked dependencies into $(VENV) ..."
	@set -o pipefail; $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
	  -r requirements/bootstrap.txt 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.txt
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m compileall -q bot handlers runbooks migrations >/dev/null
	@touch $(STAMP)

# Re-resolve the locks from pyproject.toml (after changing a dependency there), with hashes.
lock: $(STAMP)
	@$(BIN)/uv pip compile pyproject.toml --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements/runtime.txt
	@$(BIN)/uv pip compile pyproject.toml --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" --extra dev -o requirements/dev.txt
	@echo "uv==$$($(BIN)/uv --version | cut -d' ' -f2)" | $(BIN)/uv pip compile - --quiet --universal \
	  --generate-hashes --python-version 3.11 --custom-compile-command "make lock" -o requirements/bootstrap.txt
	@echo "requirements/*.txt re-locked from pyproject.toml; commit them with it"

flare.yaml:
	@cp flare.example.yaml flare.yaml
	@echo "Created flare.yaml from flare.example.yaml: edit it to describe your services and teams."

.env:
	@cp .env.example .env
	@echo "Created .env from .env.example: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET there."

run: $(STAMP) flare.yaml .env
	@$(BIN)/flare serve

try: $(STAMP)
	@$(BIN)/python -m tests.support.try_it

migrate: $(STAMP)
	@$(BIN)/flare migrate

check-config: $(STAMP) flare.yaml
	@$(BIN)/flare check-config

lint: $(STAMP)
	@$(BIN)/ruff check bot handlers runbooks migrations tests bench
	@$(BIN)/ruff format --check bot handlers runbooks migrations tests bench

typecheck: $(STAMP)
	@$(BIN)/mypy

pytest: $(STAMP)
	@$(BIN)/pytest $(PYTEST_ARGS)

deps:
	@.ci/ensure-system-deps

test: deps lint typecheck pytest

bench: $(STAMP)
	@$(BIN)/python -m compileall -q bot handlers runbooks migrations tests/fakes tests/support >/dev/null
	@$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
