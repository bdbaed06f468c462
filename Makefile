# The two commands: `make run` (set up + start the app on SQLite with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?=

.PHONY: run test lint typecheck test-postgres test-browser bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/canbo db upgrade
	$(BIN)/canbo demo load
	@echo ""
	@echo "Cán bộ is starting on http://$(HOST):$(PORT)/  (Ctrl+C stops the app and the worker)"
	@trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/canbo worker & WORKER=$$!; \
	  $(BIN)/canbo run --host $(HOST) --port $(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

# The same suite against PostgreSQL (DATABASE_URL must point at it; .ci/run sets it up).
test-postgres: install-dev
	DATABASE_URL=$${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
