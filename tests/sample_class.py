"""A course assignment's bundled sample class graded through real nbgrader, and what the tests read of it.

Each ``tests/test_aNN.py`` grades its class once (a module-scoped fixture calling `grade_sample_class`)
and checks the exact expected scores, the feedback and the grading time with the helpers below.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.course.assignment import Assignment
from autograder.course.samples import expected_scores
from autograder.gradebook.course_dir import read_csv
from autograder.grading.job import GradingRecords
from autograder.grading.results import JobResult

REPO = Path(__file__).resolve().parents[1]


def grade_sample_class(tmp_path_factory: pytest.TempPathFactory, assignment: Assignment) -> Path:
    """``autograder demo --assignment ID``: the class submitted, graded, exported; the course directory."""
    workdir = tmp_path_factory.mktemp("demo") / "course"
    assert main(["demo", "--workdir", str(workdir), "--assignment", assignment.id]) == 0
    return workdir


def class_results(course: Path, assignment: Assignment) -> dict[str, JobResult]:
    """Each sample student's grading record."""
    records = GradingRecords(course / "grading_results")
    return {student: JobResult.load(records.path(assignment.id, student, assignment.id))
            for student in expected_scores(assignment.samples_dir)}


def assert_expected_scores(course: Path, assignment: Assignment) -> dict[str, float]:
    """Every student's total in nbgrader's export and per-cell scores as expected; returns the grading times.

    The times (seconds per submission, from the records) are printed, median and worst, for the issue's notes.
    """
    expected = expected_scores(assignment.samples_dir)
    assert len(expected) >= 8
    rows = {row["student_id"]: float(row["score"]) for row in read_csv(course / "grades.csv")
            if row.get("assignment", assignment.id) == assignment.id}
    assert rows == {student: value["total"] for student, value in expected.items()}
    graded = class_results(course, assignment)
    for student, value in expected.items():
        assert graded[student].cell_scores() == value["cells"], student
    walls = {student: round(result.wall_time_s, 1) for student, result in graded.items()}
    print(f"\n{assignment.id} grading wall time per submission: median {statistics.median(walls.values()):.1f} s, "
          f"worst {max(walls.values()):.1f} s ({max(walls, key=walls.get)})")
    return walls


def assert_correct_students_pass(course: Path, assignment: Assignment, correct: tuple[str, ...] | list[str]) -> None:
    """Every test passes for each student whose code is right (in whatever style): no correct answer loses points."""
    graded = class_results(course, assignment)
    for student in correct:
        for test in graded[student].tests:
            assert test.passed, f"{student} is right but failed {test.test_id}: {test.message}"


def failure_message(graded: dict[str, JobResult], student: str, test_name: str) -> str:
    """The message of ``student``'s failed test whose id ends with ``test_name`` (which must have failed)."""
    (test,) = [t for t in graded[student].tests if t.test_id.endswith(test_name)]
    assert not test.passed, f"{student} passed {test.test_id}"
    return test.message


def assert_diagnoses(graded: dict[str, JobResult], diagnosed: dict[str, dict[str, str]]) -> tuple[int, int]:
    """Each wrong answer named exactly as ``diagnosed`` says (student -> "Class::test" -> words of the
    diagnosis), none named where it says none; (wrong answers that came back as a value, how many named)."""
    wrong, named = 0, 0
    for student, result in graded.items():
        expected = diagnosed.get(student, {})
        for test in result.tests:
            diagnosis = test.message.splitlines()[0] if test.message.startswith("Likely mistake: ") else None
            key = "::".join(test.test_id.split("::")[-2:])
            want = expected.get(key)
            assert (diagnosis is None) == (want is None), (student, key, test.message[:300])
            if want:
                assert want in diagnosis and "notebook section" in diagnosis and "Hint:" in test.message
            if not test.passed and not test.student_error:
                wrong += 1
                named += diagnosis is not None
    assert named == sum(len(tests) for tests in diagnosed.values())
    return wrong, named
