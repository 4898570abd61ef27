"""Real nbgrader: release, autograde in the sandbox, gradebook, export and feedback."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.course.samples import fill_solutions
from autograder.gradebook.course_dir import read_csv
from autograder.grading.job import GradingRecords
from autograder.grading.results import JobResult

from .conftest import CORRECT_TOY, submit

pytestmark = pytest.mark.slow  # real nbgrader and real kernels


def test_release_has_stubs_and_no_hidden_material(toy_course):
    release = toy_course.root / "release" / "toy"
    assert sorted(p.name for p in release.iterdir()) == ["toy.ipynb"]
    text = (release / "toy.ipynb").read_text()
    assert "raise NotImplementedError()" in text
    assert "BEGIN SOLUTION" not in text and "return x * 2" not in text and "test_float64" not in text


def test_partial_credit_lands_in_the_gradebook_export_and_feedback(toy_course, toy_release):
    half_right = fill_solutions(toy_release, {"double": "def double(x):\n    return (x + x).float()"})
    submit(toy_course, "sam", "toy", half_right)
    toy_course.autograde("toy", "sam")

    assert toy_course.scores("toy") == {"sam": {"test_double": 2.0, "test_square": 0.0}}
    rows = read_csv(toy_course.export_csv(toy_course.root / "grades.csv"))
    assert [(r["student_id"], float(r["score"]), float(r["max_score"])) for r in rows] == [("sam", 2.0, 4.0)]

    feedback = (toy_course.feedback("toy", "sam") / "toy.html").read_text()
    assert "Hidden tests for test_double: 2 / 3 points" in feedback
    assert "double(x: float64[5])" in feedback and "dtype" in feedback
    assert "Autograder: 2 / 4 points" in feedback


def test_grading_is_idempotent_and_reproducible(toy_course, toy_release):
    submit(toy_course, "ria", "toy", fill_solutions(toy_release, CORRECT_TOY))
    toy_course.autograde("toy", "ria")
    records = GradingRecords(toy_course.root / "grading_results")
    first = JobResult.load(records.path("toy", "ria", "toy"))
    assert first.score == first.max_score == 4.0

    toy_course.autograde("toy", "ria")  # same submission, same suite: the record is reused
    reused = JobResult.load(records.path("toy", "ria", "toy"))
    assert reused.started_at == first.started_at and reused.seed == first.seed

    toy_course.autograde("toy", "ria", force_regrade=True)  # forced: reproduced with the same secret seed
    forced = JobResult.load(records.path("toy", "ria", "toy"))
    assert forced.seed == first.seed
    assert [(t.test_id, t.points) for t in forced.tests] == [(t.test_id, t.points) for t in first.tests]
    assert toy_course.scores("toy") == {"ria": {"test_double": 3.0, "test_square": 1.0}}
    record = json.loads(records.path("toy", "ria", "toy").read_text())
    assert {"suite_version", "seed", "wall_time_s", "peak_memory_bytes", "sandbox_events", "tests"} <= set(record)


def test_edited_grade_cells_and_points_are_restored_from_the_source(toy_course, toy_release):
    notebook = fill_solutions(toy_release, CORRECT_TOY)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "test_square":
            meta["points"] = 100
            cell.source = "print('all good')"
    notebook.metadata.kernelspec = {"name": "evil", "display_name": "evil", "language": "python"}
    submit(toy_course, "eve", "toy", notebook)
    toy_course.autograde("toy", "eve")
    assert toy_course.scores("toy")["eve"] == {"test_double": 3.0, "test_square": 1.0}
    graded = nbformat.read(toy_course.root / "autograded" / "eve" / "toy" / "toy.ipynb", as_version=4)
    square_cell = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    assert square_cell.metadata.nbgrader.points == 1 and "assert square(3) == 9" in square_cell.source
