# Entry points, each from a fresh machine:
#   make demo        set up, then grade the bundled sample class and print the gradebook
#   make test        set up, lint, then run every test (real sandboxed kernels and nbgrader: many minutes)
#   make test-fast   set up, lint, then only the tests not marked slow (no kernel, no nbgrader run: under a minute)
#   make hub         set up, then start the classroom JupyterHub on loopback with the bundled course (Ctrl-C stops it)
#   make bench       set up, then grade sample classes with this grader and with stock nbgrader, side by side,
#                    and time `autograder validate` cold and warm (minutes)
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

HUB_ASSETS := hub_config/node_modules/.installed
BROWSER := /usr/bin/chromedriver
POSTGRES := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) /usr/lib/postgresql/15/bin/initdb)

.PHONY: demo test test-fast lint setup hub clean bench

setup: $(STAMP) $(HUB_ASSETS) $(BROWSER) $(POSTGRES)

# pip (not uv/poetry) takes torch from this machine's local wheel store; see README.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

# The hub's proxy (configurable-http-proxy) and MathJax for offline feedback pages, from the npm registry.
$(HUB_ASSETS): hub_config/package.json hub_config/package-lock.json
	cd hub_config && npm ci --no-audit --no-fund --loglevel=error
	touch $(HUB_ASSETS)

# Debian's chromium and its driver, for the classroom's browser test (needs root and Debian's registry).
$(BROWSER):
	apt-get install -y -q chromium chromium-driver >/dev/null || \
		(apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null)

# Debian's PostgreSQL server, for the gradebook-on-PostgreSQL tests (tests/test_postgres.py starts its own on loopback).
$(POSTGRES):
	apt-get install -y -q --no-install-recommends postgresql >/dev/null || \
		(apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql >/dev/null)

hub: setup
	$(VENV)/bin/autograder hub start

demo: $(STAMP)
	$(VENV)/bin/autograder demo

lint: setup
	$(VENV)/bin/ruff check autograder tests reference assignments bench

# Two workers (pytest-xdist; tests/conftest.py keeps each module on one), then, alone, the tests that count every
# sandboxed process on the host. Each run fails if it collects nothing (pytest's exit code 5).
test: lint
	$(VENV)/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not exclusive"
	$(VENV)/bin/python -m pytest -m exclusive

# Tests marked @pytest.mark.slow start real kernels, real nbgrader or the security self-test; the rest
# are unit tests that mirror the modules. (pytest exits 5 when it collects nothing: there are always some.)
test-fast: lint
	$(VENV)/bin/python -m pytest -m "not slow"

# BENCH_ARGS="--assignment a02_tabular_regression --rounds 3 --workers 2", for instance (bench/README.md).
BENCH_ARGS ?= --assignment a01_gradient_descent
VALIDATE_BENCH_ARGS ?= --assignment a01_gradient_descent
bench: $(STAMP)
	$(VENV)/bin/python bench/grading_bench.py $(BENCH_ARGS)
	$(VENV)/bin/python bench/validate_bench.py $(VALIDATE_BENCH_ARGS)

clean:
	rm -rf build $(VENV) hub_config/node_modules
