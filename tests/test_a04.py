"""Assignment a04 end to end: the course author's check and the bundled sample class, exact scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.authoring import check_assignment
from autograder.authoring.class_check import CLASS_ROWS
from autograder.course.assignment import Assignment, read_notebook
from autograder.course.samples import expected_scores
from autograder.testing import load_catalogue

from .sample_class import (
    assert_correct_students_pass,
    assert_expected_scores,
    class_results,
    failure_message,
    grade_sample_class,
)

pytestmark = pytest.mark.slow  # the author's check and the demo class: real kernels, real nbgrader

REPO = Path(__file__).resolve().parents[1]
A04 = Assignment("a04_neural_networks", REPO)
CORRECT = ("ana", "ben", "cleo")  # right in three styles: full marks, threshold tests included


def test_course_author_check_passes():
    """Every row: the solutions under 10 secret seeds (each threshold's worst and median reported), the sample
    class under 2 of them (each student's score fixed, no thin margin)."""
    checks = check_assignment(A04, seeds=10, class_seeds=2)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]
    class_rows = {c.name: c.detail for c in checks if c.name in CLASS_ROWS}
    assert list(class_rows) == list(CLASS_ROWS)
    students = len(expected_scores(A04.samples_dir))
    assert class_rows[CLASS_ROWS[0]].startswith(f"{students} students x 2 seeds, every cell as expected")
    thresholds = [c for c in checks if c.name.startswith("threshold ")]
    assert thresholds and all(", over 10 seeds: wanted (the reference's result) " in c.detail for c in thresholds)


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A04)



def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A04)


def test_threshold_tests_credit_any_correct_training(demo_course):
    assert_correct_students_pass(demo_course, A04, CORRECT)


def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A04)

    def message(student: str, test_name: str) -> str:
        return failure_message(graded, student, test_name)

    # A linear "network" (no ReLU) misses the secret XOR: the accuracy compared, and the hint names the ReLU.
    jack = message("jack", "test_learns_a_secret_nonlinear_boundary")
    assert "accuracy" in jack and "ReLU" in jack and "Hint:" in jack
    # MSE instead of BCE-with-logits: the lr = 0 losses are not the mean BCE.
    assert "BCEWithLogitsLoss" in message("finn", "test_loss_is_mean_bce_with_logits")
    # A copy trained: the model passed in did not change.
    assert "did not change" in message("kim", "test_trains_the_model_it_is_given")
    # relu changing x in place is refused, naming the argument.
    assert "in place" in message("lara", "test_float32_matrix")
    # Per-batch losses: a list of the wrong length.
    assert "one per epoch" in message("hugo", "test_one_loss_per_epoch")
    # The endless loop runs into the per-call budget; the kernel is replaced and grading goes on.
    assert "did not return within" in message("nico", "test_learns_a_secret_nonlinear_boundary")
    # The crash: the student's traceback.
    assert "AttributeError" in message("mia", "test_structure")


# What each sample student's failed tests name (the mistake atop the student's file): test id -> catalogue mistake.
# A failed test not listed carries no diagnosis.
DIAGNOSED = {
    "eve": {"TestTrainClassifier::test_full_batch_adam_steps": "no_zero_grad_weights",
            "TestTrainClassifier::test_full_batch_loss_curve": "no_zero_grad_losses"},
    "finn": {"TestTrainClassifier::test_loss_is_mean_bce_with_logits": "mse_on_sigmoid_losses",
             "TestTrainClassifier::test_full_batch_adam_steps": "mse_on_sigmoid_weights",
             "TestTrainClassifier::test_full_batch_loss_curve": "mse_on_sigmoid_losses"},
    "jack": {"TestBuildMlp::test_forward_is_linear_relu_linear": "no_relu",
             "TestLoanFeatures::test_standardized_numbers_then_dummies": "not_standardized"},
    "ivy": {"TestTrainClassifier::test_loss_is_mean_bce_with_logits": "last_epoch_only",
            "TestTrainClassifier::test_full_batch_loss_curve": "last_epoch_only"},
    "kim": {"TestTrainClassifier::test_full_batch_adam_steps": "trained_a_copy"},
}


def test_failures_name_exactly_the_mistake_each_student_made(demo_course, capsys):
    """The catalogue (hidden/mistakes.py) names each stated mistake, and nothing else, in the graded feedback."""
    catalogue = load_catalogue(A04.suite_dir / "mistakes.py")
    lines = {m.name: m.line() for fn in catalogue.functions() for m in catalogue.mistakes(fn)}
    assert catalogue.sections() <= notebook_headings(A04.source_notebook)
    wrong = named = 0
    for student, result in class_results(demo_course, A04).items():
        failed = {t.test_id: t.message for t in result.tests if not t.passed}
        got = {test_id: message.splitlines()[0] for test_id, message in failed.items()
               if message.startswith("Likely mistake: ")}
        assert got == {test_id: lines[name] for test_id, name in DIAGNOSED.get(student, {}).items()}, student
        wrong += sum(1 for t in result.tests if not t.passed and not t.student_error)
        named += len(got)
    with capsys.disabled():
        print(f"\na04 sample class: {named} of {wrong} wrong answers (a value came back and failed) named rightly")


def notebook_headings(path: Path) -> set[str]:
    cells = read_notebook(path).cells
    return {line.lstrip("#").strip() for cell in cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")}


def test_hidden_test_labels_never_enter_the_kernel():
    """The threshold tests send inputs only: the label tensors stay in the suite (rule 5)."""
    source = (A04.suite_dir / f"test_{A04.id}.py").read_text()
    for held_out in ("y_test", "test_frame"):
        for line in source.splitlines():
            if held_out in line and "student." in line:
                assert held_out == "test_frame" and "loan_features" in line, line
    assert 'test.drop(columns=["loan_status"])' in source


def test_the_notebook_and_the_grader_draw_loans_from_one_process():
    """The reference's make_loans (written apart, for the leak check) draws exactly the notebook's applications."""
    import importlib.util

    import pandas as pd
    import torch

    from autograder.course.assignment import read_notebook

    notebook = read_notebook(A04.source_notebook)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "loan_data"]
    namespace = {"torch": torch, "pd": pd}
    exec(cell.source.split("loans_train, loans_test")[0], namespace)
    spec = importlib.util.spec_from_file_location("a04_reference", A04.reference_path)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    for seed in (0, 40, 41, 2**31 - 2):
        pd.testing.assert_frame_equal(namespace["make_loans"](257, seed), reference.make_loans(257, seed))
