"""Assignment a05 end to end: its data, its catalogue of mistakes, and the sample class graded through nbgrader."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.course.assignment import Assignment
from autograder.grading.suite import SecretRandom, load_reference
from autograder.testing import ComparisonError, assert_close, load_catalogue

from .sample_class import (
    assert_correct_students_pass,
    assert_expected_scores,
    class_results,
    failure_message,
    grade_sample_class,
)

REPO = Path(__file__).resolve().parents[1]
A05 = Assignment("a05_multiclass_mnist", REPO)
MISTAKES = A05.suite_dir / "mistakes.py"
PUBLIC = REPO / "data" / "mnist_5k" / "mnist_public.npz"
HIDDEN = A05.suite_dir / "data" / "mnist_test.npz"
CORRECT = ("ana", "ben", "cleo")  # right in three styles: full marks, threshold test included

# What each sample student's failed tests should name (the mistakes stated atop the student's file): test id ->
# the catalogue's mistake. A failed test not listed carries no diagnosis.
DIAGNOSED = {
    "finn": {**{f"TestOneHot::{test}": "integer_rows"
                for test in ("test_vector_of_labels", "test_batch_of_label_rows", "test_single_label")},
             "TestSoftmax::test_any_dim": "always_last_dim",
             **{f"TestCrossEntropy::{test}": "summed_over_batch"
                for test in ("test_batch", "test_large_logits", "test_gradient", "test_written_by_hand")}},
    "hana": {**{f"TestSoftmax::{test}": "whole_tensor_sum"
                for test in ("test_rows", "test_any_dim", "test_float64", "test_large_logits", "test_gradient",
                             "test_written_by_hand")},
             **{f"TestCrossEntropy::{test}": "mean_over_classes_too"
                for test in ("test_batch", "test_batch_of_one", "test_large_logits", "test_gradient",
                             "test_written_by_hand")}},
}


def source(path: Path) -> str:
    return path.read_text()


# ----------------------------------------------------------------- data

def test_the_data_files_are_the_ones_the_notebook_and_the_suite_check():
    """Each file's sha256 is written in the build script, the notebook (public file) and the suite (both)."""
    suite = source(A05.suite_dir / f"test_{A05.id}.py")
    notebook = source(A05.source_notebook)
    build = source(REPO / "data" / "mnist_5k" / "build.py")
    for path, readers in ((PUBLIC, (suite, notebook, build)), (HIDDEN, (suite, build))):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert all(digest in text for text in readers), path.name
    assert A05.required_data() == ["mnist_5k/mnist_public.npz"]


def test_the_hidden_digits_are_a_stratified_split_apart_from_the_public_ones():
    with np.load(PUBLIC) as public, np.load(HIDDEN) as hidden:
        parts = {name: public[name] for name in public.files}
        test_images, test_labels = hidden["images"], hidden["labels"]
    assert parts["train_images"].shape == (3200, 28, 28) and parts["val_images"].shape == (800, 28, 28)
    assert test_images.shape == (1000, 28, 28) and test_images.dtype == np.uint8
    assert np.bincount(test_labels).tolist() == [100] * 10
    assert np.bincount(parts["train_labels"]).tolist() == [320] * 10
    public_rows = {image.tobytes() for image in np.concatenate([parts["train_images"], parts["val_images"]])}
    assert not any(image.tobytes() in public_rows for image in test_images)
    assert not list((REPO / "data").rglob("mnist_test*")), "the hidden split must never be under data/"


# ----------------------------------------------------------------- the catalogue

def notebook_sections(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return {line.lstrip("#").strip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")}


def a05_inputs(rng: SecretRandom) -> dict[str, list[tuple]]:
    """Generic inputs of each catalogued function, shaped like the suite's (no batch of one)."""
    labels = rng.integers(0, 7, (9,))
    labels[0] = 6
    return {
        "one_hot": [(labels, 10)],
        "softmax": [(rng.logits((3, 5, 4), scale=2.0), 1), (rng.logits((6, 10), scale=3.0, dtype=torch.float64),)],
        "cross_entropy": [(rng.logits((8, 10), scale=3.0, dtype=torch.float64), rng.integers(0, 10, (8,)))],
    }


def test_the_catalogue_points_to_sections_of_the_notebook_and_functions_of_the_reference():
    mistakes = load_catalogue(MISTAKES)
    assert mistakes.sections() <= notebook_sections(A05.source_notebook)
    reference = load_reference(A05.reference_path)
    assert set(mistakes.functions()) == {"one_hot", "softmax", "cross_entropy"}
    assert all(callable(getattr(reference, fn, None)) for fn in mistakes.functions())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_mistake_differs_from_the_reference_and_from_each_other(seed):
    mistakes, reference = load_catalogue(MISTAKES), load_reference(A05.reference_path)
    for fn, cases in a05_inputs(SecretRandom(seed, "catalogue")).items():
        values: dict[str, list] = {m.name: [] for m in mistakes.mistakes(fn)}
        for args in cases:
            want = getattr(reference, fn)(*args)
            for m in mistakes.mistakes(fn):
                values[m.name].append(value := m.compute(*args))
                if m.name in ("computed_in_float32", "loss_in_float32") and want.dtype == torch.float32:
                    continue  # a float32 slip gives the right answer on float32 inputs
                if m.name == "always_last_dim" and len(args) == 1:
                    continue  # ... and the last dimension is right where dim is -1
                with pytest.raises(ComparisonError):
                    assert_close(value, want, fn=f"{fn}: {m.name}")
        for (first, one), (second, other) in itertools.combinations(values.items(), 2):
            with pytest.raises(ComparisonError):
                assert_close(one, other, fn=f"{fn}: {first} against {second}")


# ----------------------------------------------------------------- the sample class, graded through nbgrader

@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A05)



@pytest.mark.slow
def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A05)


@pytest.mark.slow
def test_threshold_test_credits_any_correct_training(demo_course):
    assert_correct_students_pass(demo_course, A05, CORRECT)


@pytest.mark.slow
def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A05)

    def message(student: str, test_name: str) -> str:
        return failure_message(graded, student, test_name)

    # No max shift: nan at large logits, and the hint names the shift.
    eve = message("eve", "TestSoftmax::test_large_logits")
    assert "nan or inf" in eve and "largest score" in eve
    # Softmax before the loss: the Adam iterate differs, and the hint says where the softmax does not belong.
    assert "no softmax before it" in message("gus", "test_adam_steps_over_the_loaders_batches")
    # No zero_grad: far behind on the hidden digits, the accuracy compared with the reference's.
    ivy = message("ivy", "test_reads_hidden_digits")
    assert "accuracy on 1000 hidden digits" in ivy and "zero_grad" in ivy
    # The crash: the student's traceback.
    assert "AttributeError" in message("jon", "test_structure")
    # The endless training: the per-call budget.
    assert "did not return within" in message("jade", "test_reads_hidden_digits")
    # The lookup model: its scores are not what its weights compute (or, on a loaded machine, its search of the
    # disk runs out of the call's time: nothing either way).
    kai = message("kai", "test_reads_hidden_digits")
    assert ("model(images)" in kai and "from its own weights" in kai) or "did not return within" in kai


@pytest.mark.slow
def test_catalogued_mistakes_are_named_and_nothing_else(demo_course, capsys):
    mistakes = load_catalogue(MISTAKES)
    lines = {m.name: m.line() for fn in mistakes.functions() for m in mistakes.mistakes(fn)}
    graded = class_results(demo_course, A05)
    wrong = {(student, t.test_id): t for student, result in graded.items() for t in result.tests
             if not t.passed and not t.student_error}
    named = {key for key, t in wrong.items() if t.message.startswith("Likely mistake: ")}
    for student, tests in DIAGNOSED.items():
        for test_id, name in tests.items():
            assert wrong[(student, test_id)].message.splitlines()[0] == lines[name], (student, test_id)
    expected = {(student, test_id) for student, tests in DIAGNOSED.items() for test_id in tests}
    assert named == expected
    with capsys.disabled():  # every wrong answer a catalogue entry covers is one of `expected`
        print(f"\na05 sample class: {len(wrong)} wrong answers (a value came back and failed a comparison), "
              f"{len(expected)} of them covered by a catalogue entry, {len(named)} named rightly")


def test_hidden_test_labels_never_enter_the_kernel():
    """The threshold test sends images only: the labels of the hidden digits stay in the suite (rule 5)."""
    suite = source(A05.suite_dir / f"test_{A05.id}.py")
    for line in suite.splitlines():
        if "test_labels" in line or "y_test" in line:
            assert "side." not in line and "student." not in line and "model(" not in line, line
    assert "model(X_test)" in suite and "y_test = names[test_labels]" in suite
