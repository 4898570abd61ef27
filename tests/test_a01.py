"""Assignment a01 end to end: the course author's check and the bundled sample class, exact scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.authoring import check_assignment
from autograder.cli import main
from autograder.course.assignment import Assignment
from autograder.course.samples import expected_scores
from autograder.gradebook.course_dir import read_csv
from autograder.grading.job import GradingRecords
from autograder.grading.results import JobResult

pytestmark = pytest.mark.slow  # the author's check and the demo class: real kernels, real nbgrader

REPO = Path(__file__).resolve().parents[1]
A01 = Assignment("a01_gradient_descent", REPO)


def test_course_author_check_passes():
    checks = check_assignment(A01, seeds=3)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("demo") / "course"
    assert main(["demo", "--workdir", str(workdir)]) == 0
    return workdir


def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    expected = expected_scores(A01.samples_dir)
    assert len(expected) >= 8
    rows = {row["student_id"]: float(row["score"]) for row in read_csv(demo_course / "grades.csv")}
    assert rows == {student: value["total"] for student, value in expected.items()}
    records = GradingRecords(demo_course / "grading_results")
    for student, value in expected.items():
        result = JobResult.load(records.path(A01.id, student, A01.id))
        assert result.cell_scores() == value["cells"], student


def test_failures_tell_the_student_what_differed(demo_course):
    records = GradingRecords(demo_course / "grading_results")
    carol = JobResult.load(records.path(A01.id, "carol", A01.id))
    failed = [t for t in carol.tests if t.cell == "test_mse_grad" and not t.passed]
    assert failed and all("mse_grad(" in t.message and "Hint:" in t.message for t in failed)
    frank = JobResult.load(records.path(A01.id, "frank", A01.id))
    assert any("did not return within" in t.message for t in frank.tests if t.cell == "test_train_linear")
    heidi = JobResult.load(records.path(A01.id, "heidi", A01.id))
    assert any("status 3" in event for event in heidi.sandbox_events)
    grace = JobResult.load(records.path(A01.id, "grace", A01.id))
    assert any("output truncated" in event for event in grace.sandbox_events)


def test_feedback_reaches_every_student(demo_course):
    for student in expected_scores(A01.samples_dir):
        html = (demo_course / "feedback" / student / A01.id / f"{A01.id}.html").read_text()
        assert "Hidden tests for test_predict" in html and "Autograder:" in html
