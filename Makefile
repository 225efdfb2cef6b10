# Python 3.13, as on Lambda (zappa_settings.json `runtime`): python3.13 on PATH, else pyenv's, whose shims
# answer only with PYENV_VERSION set. `make PYTHON=/path/to/python3.13 ...` overrides.
PYTHON ?= $(shell scripts/find_python.sh 3.13)
VENV := .venv
BIN := $(VENV)/bin
PACKAGE_VENV := .venv-package
STAGE ?= dev

.PHONY: install run test lint package bench

# Everything `run` and `test` use; reinstalled when the requirements change. The stamp names the Python, so a
# venv left by an older interpreter is rebuilt (--clear) rather than reused.
$(VENV)/.installed-py3.13: requirements/base.txt requirements/dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (python.org, pyenv install 3.13, or apt) or pass PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

install: $(VENV)/.installed-py3.13

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
	$(BIN)/lint-imports

# Runtime requirements + zappa only: Zappa zips the whole virtualenv, so no test tools may be in it.
$(PACKAGE_VENV)/.installed-py3.13: requirements/base.txt requirements/package.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (python.org, pyenv install 3.13, or apt) or pass PYTHON=/path/to/python3.13" >&2; exit 1; }
	rm -rf $(PACKAGE_VENV)
	$(PYTHON) -m venv $(PACKAGE_VENV)
	$(PACKAGE_VENV)/bin/pip install --quiet --upgrade pip
	$(PACKAGE_VENV)/bin/pip install --quiet -r requirements/package.txt
	touch $@

package: $(PACKAGE_VENV)/.installed-py3.13
	scripts/package_lambda.sh $(STAGE)
