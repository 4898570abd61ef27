"""The package's shape: imports flow one way, from the CLI down to the sandbox, and no module outgrows a read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"
# Lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS = {"sandbox": 0, "private": 0, "course": 1, "grading": 2, "testing": 3, "gradebook": 3, "nbgrader_config": 4,
          "authoring": 4, "selftest": 4, "reports": 4, "hub": 5, "cli": 6}
MAX_MODULE_LINES = 400
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "hostile" not in p.parts and "toy_course" not in p.parts)


def layer_of(parts: tuple[str, ...]) -> str:
    return parts[0].removesuffix(".py") if parts and parts[0] != "__init__.py" else ""


def imported_layers(path: Path) -> set[str]:
    """The top-level parts of ``autograder`` that a module imports, absolute or relative."""
    package = path.relative_to(PACKAGE).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                names = [*base, *(node.module.split(".") if node.module else [])]
                targets = [names] if node.module else [[*base, alias.name] for alias in node.names]
            elif node.module and node.module.split(".")[0] == "autograder":
                targets = [node.module.split(".")[1:]]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "autograder"]
        else:
            continue
        found |= {target[0].removesuffix(".py") for target in targets if target}
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_down(path):
    own = layer_of(path.relative_to(PACKAGE).parts)
    if not own:
        return  # the package's own __init__ imports nothing
    assert own in LAYERS, f"{own}: give this part of the package a layer in LAYERS"
    upward = sorted(name for name in imported_layers(path) if name in LAYERS and LAYERS[name] > LAYERS[own])
    assert not upward, f"{path.relative_to(PACKAGE)} ({own}) imports from higher layers: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_readable(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by job"


def test_the_grading_path_does_not_import_author_tooling():
    for path in MODULES:
        if layer_of(path.relative_to(PACKAGE).parts) in ("sandbox", "course", "grading", "gradebook"):
            assert "authoring" not in imported_layers(path), path
