# Two entry points, both from a fresh machine:
#   make demo   set up, then grade the bundled sample class and print the gradebook
#   make test   set up, then run every test
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup clean

setup: $(STAMP)

# pip (not uv/poetry) takes torch from this machine's local wheel store; see README.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/autograder demo

test: $(STAMP)
	$(VENV)/bin/ruff check autograder tests reference assignments
	$(VENV)/bin/python -m pytest

clean:
	rm -rf build $(VENV)
