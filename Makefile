# Entry points, each from a fresh machine:
#   make demo        set up, then grade the bundled sample class and print the gradebook
#   make test        set up, lint, then run every test (real sandboxed kernels and nbgrader: many minutes)
#   make test-fast   set up, lint, then only the tests not marked slow (no kernel, no nbgrader run: under a minute)
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint setup clean

setup: $(STAMP)

# pip (not uv/poetry) takes torch from this machine's local wheel store; see README.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/autograder demo

lint: $(STAMP)
	$(VENV)/bin/ruff check autograder tests reference assignments

test: lint
	$(VENV)/bin/python -m pytest

# Tests marked @pytest.mark.slow start real kernels, real nbgrader or the security self-test; the rest
# are unit tests that mirror the modules. (pytest exits 5 when it collects nothing: there are always some.)
test-fast: lint
	$(VENV)/bin/python -m pytest -m "not slow"

clean:
	rm -rf build $(VENV)
