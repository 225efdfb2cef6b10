PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PACKAGE_VENV := .venv-package
STAGE ?= dev

.PHONY: install run test lint package bench

# Everything `run` and `test` use; reinstalled when the requirements change.
$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	scripts/run_local.sh

test: install
	$(BIN)/pytest

# Benchmarks (not tests): cold start, warm overhead, latency, cost; prints a goals table, writes bench/results.json.
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Runtime requirements + zappa only: Zappa zips the whole virtualenv, so no test tools may be in it.
$(PACKAGE_VENV)/.installed: requirements/base.txt requirements/package.txt
	rm -rf $(PACKAGE_VENV)
	$(PYTHON) -m venv $(PACKAGE_VENV)
	$(PACKAGE_VENV)/bin/pip install --quiet --upgrade pip
	$(PACKAGE_VENV)/bin/pip install --quiet -r requirements/package.txt
	touch $@

package: $(PACKAGE_VENV)/.installed
	scripts/package_lambda.sh $(STAGE)
