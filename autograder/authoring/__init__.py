"""The course author's tools: starting a course and an assignment, and checking an assignment before release.

- `.check`: `check_assignment`, the author's check of one assignment (the notebook's solutions, its stubs,
  leaks, points, and the sample class);
- `.class_check`: `check_sample_class`, the bundled sample class graded under the check's secret seeds (scores
  as expected, none moving with the seed, no correct sample passing only on a thin margin);
"""

from typing import Any

from .defaults import DEFAULT_CLASS_SEEDS, DEFAULT_SEEDS

_LAZY = {"check_assignment": "check", "check_sample_class": "class_check"}


def __getattr__(name: str) -> Any:
    # Imported on first use: the command line reads the defaults above without importing torch and nbgrader.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_CLASS_SEEDS", "DEFAULT_SEEDS", "check_assignment", "check_sample_class"]
