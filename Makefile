# Two commands: `make run` (set up, then open the dashboard) and `make test` (set up, then every gate).
# The environment lives in .venv and is rebuilt whenever requirements.lock or pyproject.toml changes.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
HOST ?= 127.0.0.1

.PHONY: run test lint typecheck pytest browser-deps bench clean

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "NavMetrics needs Python 3.11 or newer: install it (e.g. apt-get install python3), then run make again."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run streamlit_app.py --server.address $(HOST) --server.port $(PORT)

browser-deps:
	@sh scripts/ensure-chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser-deps
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/trends.py
	$(BIN)/python benchmarks/simulator.py
	$(BIN)/python benchmarks/receiver.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
