"""Bad input from course staff and damaged submissions: clear messages, nobody graded against a broken suite."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from autograder.course.assignment import Assignment, CourseError
from autograder.course.samples import fill_solutions
from autograder.gradebook.batch import grade_batch
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.grading.results import JobStatus
from autograder.grading.suite import SuiteError

from .conftest import CORRECT_TOY, TOY_ROOT, submit


@pytest.fixture
def course_tree(tmp_path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(TOY_ROOT, root)
    return root


def edit_source(root: Path, change) -> Path:
    path = root / "assignments" / "source" / "toy" / "toy.ipynb"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def cell(data: dict, grade_id: str) -> dict:
    return next(c for c in data["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_text('{"cells": ['), "not a readable notebook"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "nbformat": 3})), "nbformat 3 is not supported"),
])
def test_unreadable_source_notebooks_name_the_file(course_tree, damage, message):
    path = course_tree / "assignments" / "source" / "toy" / "toy.ipynb"
    damage(path)
    with pytest.raises(CourseError, match=message) as raised:
        Assignment("toy", course_tree).validate()
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("change, message", [
    (lambda d: cell(d, "test_square")["metadata"]["nbgrader"].pop("grade_id"), "has nbgrader metadata but no grade_id"),
    (lambda d: cell(d, "test_square")["metadata"]["nbgrader"].update(grade_id="test_double"),
     "'test_double' is used by cells"),
    (lambda d: cell(d, "test_square")["metadata"]["nbgrader"].update(points="three"), "has points 'three'"),
    (lambda d: cell(d, "test_square").update(outputs=[{"output_type": "stream", "name": "stdout",
                                                       "text": "x" * 3 * 2**20}]), "clear the notebook's outputs"),
])
def test_inconsistent_grade_cells_are_refused(course_tree, change, message):
    path = edit_source(course_tree, change)
    with pytest.raises(CourseError, match=message) as raised:
        Assignment("toy", course_tree).validate()
    assert str(path) in str(raised.value)


def test_a_missing_data_file_is_named_with_its_fix(course_tree):
    config = course_tree / "assignments" / "toy" / "hidden" / "assignment.toml"
    config.write_text(config.read_text() + '\n[data]\nfiles = ["celsius.csv"]\n')
    with pytest.raises(CourseError, match=r"celsius\.csv missing from .*data/README\.md"):
        Assignment("toy", course_tree).validate()


def graded_class(tree: Path, tmp_path: Path, toy_release: Path) -> NbgraderCourse:
    course = NbgraderCourse.create(tmp_path / "course", tree)
    course.generate("toy")
    submit(course, "amy", "toy", fill_solutions(toy_release, CORRECT_TOY))
    return course


def gradebook_submissions(course: NbgraderCourse) -> int:
    with sqlite3.connect(course.root / "gradebook.db") as db:
        return db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]


@pytest.mark.slow
def test_a_suite_that_errors_grades_nobody(course_tree, tmp_path, toy_release):
    course = graded_class(course_tree, tmp_path, toy_release)
    (course_tree / "assignments" / "toy" / "hidden" / "test_more.py").write_text("import no_such_helper\n")
    with pytest.raises(SuiteError, match=r"test_more\.py"):
        grade_batch(course, "toy", ["amy"])
    assert gradebook_submissions(course) == 0


@pytest.mark.slow
def test_a_reference_that_fails_its_own_suite_grades_nobody(course_tree, tmp_path, toy_release):
    course = graded_class(course_tree, tmp_path, toy_release)
    reference = course_tree / "reference" / "toy.py"
    reference.write_text(reference.read_text().replace("return x * x", "return x * x + 1"))
    with pytest.raises(SuiteError, match=r"does not pass its own hidden suite.*No student was graded"):
        grade_batch(course, "toy", ["amy"])
    assert gradebook_submissions(course) == 0


@pytest.mark.slow
def test_damaged_submissions_fail_alone(course_tree, tmp_path, toy_release):
    course = graded_class(course_tree, tmp_path, toy_release)
    broken = submit(course, "bea", "toy", nbformat.read(toy_release, as_version=4))
    broken.write_text(broken.read_text()[:200])
    huge = submit(course, "cal", "toy", fill_solutions(toy_release, CORRECT_TOY))
    data = json.loads(huge.read_text())
    data["cells"][0]["attachments"] = {"big.png": {"image/png": "A" * 30 * 2**20}}
    huge.write_text(json.dumps(data))

    outcomes = grade_batch(course, "toy", ["amy", "bea", "cal"])
    assert outcomes["amy"].score == 4.0
    assert outcomes["bea"].status == JobStatus.FAILED and outcomes["bea"].error
    assert outcomes["cal"].status == JobStatus.REFUSED
    assert "limit 25 MiB" in outcomes["cal"].error and "clear its outputs" in outcomes["cal"].error
    assert course.scores("toy")["amy"] == {"test_double": 3.0, "test_square": 1.0}
