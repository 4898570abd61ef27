"""Jobs graded in parallel ahead of nbgrader's serial run (`gradebook.prestage`), and adopted by it."""

from __future__ import annotations

import logging

import nbformat
import pytest

from autograder.course.samples import fill_solutions
from autograder.gradebook.batch import grade_batch
from autograder.grading.job import GradingRecords, adopt_staged, submission_hash
from autograder.grading.results import JobResult

from .conftest import CORRECT_TOY, TOY_CLASS, TOY_CLASS_SCORES, submit

STUDENTS, EXPECTED = TOY_CLASS, TOY_CLASS_SCORES


@pytest.mark.slow
def test_parallel_jobs_end_in_the_gradebook_a_serial_run_gives(toy_course, toy_release, caplog):
    for student, solutions in STUDENTS.items():
        submit(toy_course, student, "toy", fill_solutions(toy_release, solutions))
    # ann hands in amy's notebook: graded once, for amy (the first of the two), and reused for ann.
    submit(toy_course, "ann", "toy", fill_solutions(toy_release, STUDENTS["amy"]))
    # A submission whose folder is refused is left to nbgrader's run, which refuses it with its reason.
    (toy_course.root / "submitted" / "dee" / "toy").mkdir(parents=True)
    (toy_course.root / "submitted" / "dee" / "toy" / "toy.ipynb").symlink_to(toy_release)
    with caplog.at_level(logging.INFO, logger="autograder.grading.job"):
        outcomes = grade_batch(toy_course, "toy", [*STUDENTS, "ann", "dee"], workers=2)
    assert toy_course.scores("toy") == {**EXPECTED, "ann": EXPECTED["amy"]}
    assert outcomes["ann"].graded
    assert any(r.getMessage() == "ann/toy: identical to amy's submission, graded once" for r in caplog.records)
    assert outcomes["dee"].status == "refused" and "link" in outcomes["dee"].error
    adopted = [r.getMessage() for r in caplog.records if "graded ahead of nbgrader's run" in r.getMessage()]
    # Each distinct submission graded once, in parallel; ann's is amy's.
    assert sorted(message.split("/")[0] for message in adopted) == sorted(STUDENTS)
    records = GradingRecords(toy_course.root / "grading_results")
    assert not (records.staging().root / "toy").exists()
    # A second run reuses the records: nothing is graded again, in parallel or not.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="autograder.grading.job"):
        again = grade_batch(toy_course, "toy", list(STUDENTS), workers=2)
    assert all(result.reused for result in again.values())
    assert not any("graded ahead" in r.getMessage() for r in caplog.records)


def staged_record(tmp_path, notebook, **changes) -> GradingRecords:
    records = GradingRecords(tmp_path / "grading_results")
    record = JobResult("amy", "toy", "toy", submission_hash(notebook), "toy-1", seed=7,
                       cell_max_points={"test_double": 3.0, "test_square": 1.0}, **changes)
    record.save(records.staging().path("toy", "amy", "toy"))
    return records


def test_a_staged_record_is_adopted_only_for_the_same_notebook_points_and_suite(tmp_path, toy_release):
    notebook = fill_solutions(toy_release, CORRECT_TOY)
    key = (submission_hash(notebook), "toy-1")
    points = {"test_double": 3.0, "test_square": 1.0}
    records = staged_record(tmp_path, notebook)
    assert adopt_staged(records, "toy", "amy", "toy", (key[0], "toy-2"), points) is None  # the suite changed since
    assert adopt_staged(records, "toy", "amy", "toy", key, {**points, "test_square": 100.0}) is None  # forged points
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def double(x):\n    return 2 * x")])
    assert adopt_staged(records, "toy", "amy", "toy", (submission_hash(other), "toy-1"), points) is None
    adopted = adopt_staged(records, "toy", "amy", "toy", key, points)
    assert adopted is not None and adopted.seed == 7
    assert JobResult.load(records.path("toy", "amy", "toy")).seed == 7  # moved into the records
    assert not records.staging().path("toy", "amy", "toy").exists()
    assert adopt_staged(records, "toy", "amy", "toy", key, points) is None  # adopted once
