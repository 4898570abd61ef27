"""Assignment a01 end to end: the course author's check and the bundled sample class, exact scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.authoring import check_assignment
from autograder.authoring.class_check import CLASS_ROWS
from autograder.course.assignment import Assignment
from autograder.course.samples import expected_scores
from autograder.grading.job import GradingRecords
from autograder.grading.results import JobResult

from .sample_class import assert_expected_scores

pytestmark = pytest.mark.slow  # the author's check and the demo class: real kernels, real nbgrader

REPO = Path(__file__).resolve().parents[1]
A01 = Assignment("a01_gradient_descent", REPO)


def test_course_author_check_passes():
    """Every row: the solutions under 10 secret seeds (each threshold's worst and median reported), the sample
    class under 2 of them (each student's score fixed, no thin margin)."""
    checks = check_assignment(A01, seeds=10, class_seeds=2)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]
    class_rows = {c.name: c.detail for c in checks if c.name in CLASS_ROWS}
    assert list(class_rows) == list(CLASS_ROWS)
    students = len(expected_scores(A01.samples_dir))
    assert class_rows[CLASS_ROWS[0]].startswith(f"{students} students x 2 seeds, every cell as expected")
    thresholds = [c for c in checks if c.name.startswith("threshold ")]
    assert thresholds and all(", over 10 seeds: wanted (the reference's result) " in c.detail for c in thresholds)


@pytest.fixture(scope="module")
def demo_course(a01_class_course) -> Path:
    return a01_class_course


def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A01)


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


# The threshold tests of a01 and the call each one's feedback names. judy hard-codes the notebook's public
# answer (w = 1.8, b = 32, with its true loss) and fits the quadratic with torch.linalg.lstsq; karl solves
# the normal equations by hand (torch.linalg.inv, torch.linalg.solve). Suite a01-2 gave them 4 and 8 points.
THRESHOLD_TESTS = {
    "TestTrainLinear::test_learns_a_secret_linear_relation": "train_linear(",
    "TestFitQuadratic::test_recovers_secret_coefficients": "fit_quadratic(",
}
HARD_CODERS = ("judy", "karl")


def test_hard_coded_and_closed_form_answers_earn_no_threshold_points(demo_course):
    records = GradingRecords(demo_course / "grading_results")
    for student in HARD_CODERS:
        tests = {t.test_id: t for t in JobResult.load(records.path(A01.id, student, A01.id)).tests}
        for test_id, call in THRESHOLD_TESTS.items():
            assert test_id in tests, f"{student}: no result for {test_id}; the suite ran {sorted(tests)}"
            test = tests[test_id]
            assert (test.outcome, test.points) == ("failed", 0.0), (
                f"{student} got {test.points:g} / {test.max_points:g} on {test_id} ({test.outcome}) without "
                f"gradient descent: {test.message or 'no message'}")
            # The feedback names the call, the value that differed (expected vs got) and what was asked for.
            message = test.message
            for needed in (call, "values are not close", "expected", ", got", "Hint:", "gradient descent"):
                assert needed.lower() in message.lower(), (
                    f"{student}, {test_id}: the feedback lacks {needed!r}:\n{message}")
            # It is the unconverged gradient-descent check that stops them: few steps, before convergence.
            assert "epochs: 50)" in message or "steps: 20," in message, (
                f"{student}, {test_id}: expected the failure at the early gradient-descent check:\n{message}")


def test_threshold_tests_credit_any_correct_gradient_descent(demo_course):
    """alice, bob, carol (autograd) and leo (float64 inside, .data updates) train honestly: full threshold marks."""
    records = GradingRecords(demo_course / "grading_results")
    for student in ("alice", "bob", "carol", "leo"):
        tests = {t.test_id: t for t in JobResult.load(records.path(A01.id, student, A01.id)).tests}
        for test_id in THRESHOLD_TESTS:
            if student == "carol" and test_id.startswith("TestFitQuadratic"):
                continue  # carol left fit_quadratic as the stub
            test = tests[test_id]
            assert test.passed, f"{student} trains by gradient descent but failed {test_id}: {test.message}"
