# mmderain: one entry point for set-up, demo and tests.
#
#   make demo    set up (if needed) and derain sample photos
#   make test    set up (if needed) and run the test suite
#   make setup   only create/refresh the environment in .venv/
#   make lint    flake8, isort, yapf and codespell on the whole tree
#
# The environment is isolated inside the checkout (.venv/). Set-up is
# idempotent: it re-runs only when requirements/* or setup.py change, so a
# second `make` takes seconds.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mmderain-installed
PIP    := $(BIN)/python -m pip
PIP_FLAGS ?= --quiet --disable-pip-version-check
# mmcv compiles its C++ ops; 2 parallel jobs fit a 2-core / 24 GB machine.
export MAX_JOBS ?= 2
export MMCV_WITH_OPS ?= 1
PYTEST_ARGS ?=

LINT_PATHS := $(wildcard mmderain tools tests benchmarks configs projects) setup.py
LINT_STAMP := $(VENV)/.mmderain-lint-installed

.PHONY: setup demo test lint clean-env

setup: $(STAMP)

$(STAMP): requirements/runtime.txt requirements/mminstall.txt requirements/tests.txt setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip wheel "setuptools<70"
	$(PIP) install $(PIP_FLAGS) -r requirements/runtime.txt
	$(PIP) install $(PIP_FLAGS) --no-build-isolation -r requirements/runtime.txt \
		$$(grep -E '^mm(engine|cv)==' requirements/mminstall.txt)
	$(PIP) install $(PIP_FLAGS) -r requirements/runtime.txt \
		-r requirements/mminstall.txt -r requirements/tests.txt
	$(PIP) install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
	$(PIP) check
	$(BIN)/python -c "import mmcv.ops, mmagic.models, mmderain; print('mmderain environment ready')"
	@touch $(STAMP)

demo: setup
	$(BIN)/python tools/demo.py

test: setup
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

$(LINT_STAMP): requirements/lint.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) -r requirements/lint.txt
	@touch $(LINT_STAMP)

lint: $(LINT_STAMP)
	$(BIN)/python -m flake8 $(LINT_PATHS)
	$(BIN)/python -m isort --check-only --diff $(LINT_PATHS)
	$(BIN)/python -m yapf --diff --recursive $(LINT_PATHS)
	$(BIN)/codespell $(LINT_PATHS) docs README.md

clean-env:
	rm -rf $(VENV)
