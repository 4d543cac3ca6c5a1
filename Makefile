# The two commands of the README. Both set everything up from a bare checkout with
# only Python 3.11: a virtualenv in .venv, the project and its test extras installed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Bill the demo month (2026-10) on the embedded default (workspace: $CCMETER_HOME or ./workspace)
demo: $(STAMP)
	$(BIN)/ccmeter demo

## Lint (ruff), dead code (vulture), types (mypy on metering/, assets/, pipelines/), settings of all three in
## pyproject.toml; then the test suite (exit code 5, "no tests collected", fails here)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/vulture
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/ccmeter bench --calls 1000000 --json benchmarks/report.json

clean:
	rm -rf $(VENV) workspace
