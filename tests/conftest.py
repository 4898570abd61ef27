"""Shared fixtures for the project's own tests: real kernels, real nbgrader, small courses."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import Assignment
from autograder.gradebook import NbgraderCourse

REPO = Path(__file__).resolve().parents[1]
TOY_ROOT = Path(__file__).parent / "fixtures" / "toy_course"


@pytest.fixture(scope="session")
def toy_assignment() -> Assignment:
    return Assignment("toy", TOY_ROOT)


@pytest.fixture(scope="session")
def toy_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy assignment's release notebook, generated once by real nbgrader."""
    course = NbgraderCourse.create(tmp_path_factory.mktemp("toy-release"), TOY_ROOT)
    return course.generate("toy") / "toy.ipynb"


def fill_solutions(release: Path, solutions: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with some solution cells replaced, as a student would submit it."""
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    return notebook


@pytest.fixture
def toy_course(tmp_path: Path) -> NbgraderCourse:
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT)
    course.generate("toy")
    return course


def submit(course: NbgraderCourse, student: str, assignment: str, notebook: nbformat.NotebookNode) -> Path:
    target = course.root / "submitted" / student / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    path = target / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    (target / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
    return path


CORRECT_TOY = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"}
