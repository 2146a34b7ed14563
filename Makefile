# medspa: `make run` for the demo clinic, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint e2e bench assets clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

# Dependencies come from the committed uv.lock; nothing is resolved anew.
install: $(UV)
	$(UV) sync --frozen --quiet
	@if [ -f package-lock.json ]; then $(MAKE) --no-print-directory assets; fi
	@test -x $(BIN)/medspa

assets:
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund --silent; fi
	$(BIN)/python -m medspa.assets

run: install
	$(BIN)/medspa up

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

e2e: install
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(BIN)/pytest tests/e2e

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/availability.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/clinical.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/checkout.py

clean:
	rm -rf $(VENV) $(TOOLS) var/*.sqlite3* node_modules
