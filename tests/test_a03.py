"""Assignment a03 end to end: its data, reference and catalogue, the author's check, and the sample class graded."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from autograder.authoring import check_assignment
from autograder.course.assignment import Assignment
from autograder.grading.suite import SecretRandom
from autograder.testing import ComparisonError, assert_close, load_catalogue

from .sample_class import (
    assert_correct_students_pass,
    assert_diagnoses,
    assert_expected_scores,
    class_results,
    failure_message,
    grade_sample_class,
)

REPO = Path(__file__).resolve().parents[1]
A03 = Assignment("a03_binary_classification", REPO)
SUITE = A03.suite_dir / f"test_{A03.id}.py"
PUBLIC = REPO / "data" / "sms_spam" / "sms_spam.tsv"
HIDDEN = A03.suite_dir / "data" / "sms_spam_test.tsv"
CORRECT = ("ana", "ben", "cleo")  # right in three styles: full marks, the threshold test included


def load_reference():
    spec = importlib.util.spec_from_file_location("a03_reference", A03.reference_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stated_sha256(source: str, name: str) -> str:
    (digest,) = re.findall(rf'{name}\s*=\s*"([0-9a-f]{{64}})"', source)
    return digest


# ----------------------------------------------------------------------------------------------- data

def test_the_data_files_are_the_ones_the_suite_and_the_notebook_name():
    suite = SUITE.read_text()
    assert hashlib.sha256(PUBLIC.read_bytes()).hexdigest() == stated_sha256(suite, "PUBLIC_SHA256")
    assert hashlib.sha256(HIDDEN.read_bytes()).hexdigest() == stated_sha256(suite, "HIDDEN_SHA256")
    notebook = "\n".join("".join(cell["source"]) for cell in json.loads(A03.source_notebook.read_text())["cells"])
    assert stated_sha256(notebook, "SMS_SHA256") == stated_sha256(suite, "PUBLIC_SHA256")
    assert A03.required_data() == ["sms_spam/sms_spam.tsv"]


def test_no_hidden_message_can_be_read_from_a_kernel():
    """The hidden split is beside the suite (never mounted), and none of its texts is in the mounted data."""
    reference = load_reference()
    public, _ = reference.read_sms(PUBLIC.read_bytes())
    hidden, hidden_spam = reference.read_sms(HIDDEN.read_bytes())
    assert (len(public), len(hidden)) == (3549, 985) and 100 < int(hidden_spam.sum()) < 200
    assert not {text.strip().lower() for text in hidden} & {text.strip().lower() for text in public}
    mounted = b"".join(path.read_bytes() for path in (REPO / "data").rglob("*") if path.is_file())
    assert not [text for text in hidden if len(text) > 30 and text.encode() in mounted]


def test_hidden_test_labels_never_enter_the_kernel():
    """The threshold test sends texts only: the hidden labels stay in the suite (rule 5)."""
    source = SUITE.read_text()
    for line in source.splitlines():
        if "student." in line or "model." in line:
            assert not re.search(r"\b(truth|hidden_spam)\b", line), line
    assert "model.predict(test_texts)" in source


# ----------------------------------------------------------------------------------------------- reference

def test_the_reference_matches_pytorch_at_every_scale():
    reference = load_reference()
    for dtype in (torch.float32, torch.float64):
        z = torch.tensor([-1e4, -1e3, -100.0, -30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0, 100.0, 1e3, 1e4], dtype=dtype)
        weights = torch.linspace(-1, 2, len(z), dtype=dtype)
        mine, theirs = z.clone().requires_grad_(), z.clone().requires_grad_()
        (reference.sigmoid(mine) * weights).sum().backward()
        (torch.sigmoid(theirs) * weights).sum().backward()
        assert_close(reference.sigmoid(z), torch.sigmoid(z), fn="sigmoid")
        assert_close(mine.grad, theirs.grad, fn="sigmoid gradient")
        targets = (torch.arange(len(z)) % 2).to(dtype)
        mine, theirs = z.clone().requires_grad_(), z.clone().requires_grad_()
        loss = reference.bce_with_logits(mine, targets)
        want = F.binary_cross_entropy_with_logits(theirs, targets)
        loss.backward()
        want.backward()
        assert_close(loss, want.detach(), fn="bce_with_logits")
        assert_close(mine.grad, theirs.grad, fn="bce_with_logits gradient")


def test_reference_metrics_by_hand():
    reference = load_reference()
    got = reference.binary_metrics(torch.tensor([1, 1, 1, 0, 0, 0, 0, 0]), torch.tensor([1.0, 1, 0, 1, 0, 0, 0, 0]))
    assert got == {"accuracy": 6 / 8, "sensitivity": 2 / 3, "specificity": 4 / 5, "precision": 2 / 3}
    empty = torch.zeros(0, dtype=torch.bool)
    assert reference.binary_metrics(empty, empty) == dict.fromkeys(got, 0.0)


# ----------------------------------------------------------------------------------------------- catalogue

def notebook_sections(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return {line.lstrip("#").strip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")}


def catalogue_inputs(rng: SecretRandom) -> dict[str, list[tuple]]:
    z = torch.cat([rng.normal((10,), std=3.0), torch.tensor([-40.0, 40.0])])
    truth = rng.uniform((30,)) < 0.4
    guess = torch.where(rng.uniform((30,)) < 0.25, ~truth, truth)
    return {
        "sigmoid": [(torch.cat([z, torch.tensor([-1e4, 1e4])]).double(),)],
        "bce_with_logits": [(z, (rng.uniform((12,)) < 0.5).float())],
        "binary_metrics": [(truth, guess), (torch.zeros(12, dtype=torch.bool), guess[:12])],
    }


def test_the_catalogue_points_to_sections_of_the_notebook():
    mistakes = load_catalogue(A03.suite_dir / "mistakes.py")
    assert mistakes.sections() <= notebook_sections(A03.source_notebook)
    assert set(mistakes.functions()) == {"sigmoid", "bce_with_logits", "binary_metrics"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_mistake_differs_from_the_reference_and_from_each_other(seed):
    mistakes, reference = load_catalogue(A03.suite_dir / "mistakes.py"), load_reference()
    for fn, cases in catalogue_inputs(SecretRandom(seed, "a03 catalogue")).items():
        values = {m.name: [m.compute(*args) for args in cases] for m in mistakes.mistakes(fn)}
        want = [getattr(reference, fn)(*args) for args in cases]
        for name, value in values.items():
            with pytest.raises(ComparisonError):
                assert_close(value, want, fn=f"{fn}: {name}", check_dtype=fn == "sigmoid", equal_nan=True)
        for (first, one), (second, other) in itertools.combinations(values.items(), 2):
            with pytest.raises(ComparisonError):
                assert_close(one, other, fn=f"{fn}: {first} against {second}", check_dtype=fn == "sigmoid",
                             equal_nan=True)


# ----------------------------------------------------------------------------------------------- graded

@pytest.mark.slow
def test_course_author_check_passes():
    """Every row but the class's (graded through nbgrader below), under one secret seed (kept short: the
    release check, `autograder check a03_binary_classification --seeds 10`, runs ten and the class)."""
    checks = check_assignment(A03, seeds=1, sample_class=False)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A03)



@pytest.mark.slow
def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A03)


@pytest.mark.slow
def test_threshold_test_credits_any_correct_filter(demo_course):
    assert_correct_students_pass(demo_course, A03, CORRECT)


# Each wrong answer of the class (a value came back and failed a comparison) that a catalogued mistake gives,
# with the words of the diagnosis it must carry; a failed comparison not listed must carry none.
DIAGNOSED = {
    "eve": {"TestSigmoid::test_huge_inputs": "exp(z) / (1 + exp(z))"},
    "finn": {f"TestBceWithLogits::{t}": "mean squared error" for t in
             ("test_float32_vector", "test_float64_column", "test_huge_logits", "test_gradient")},
    "gus": {**{f"TestBceWithLogits::{t}": "the sum of the examples' losses" for t in
               ("test_float32_vector", "test_float64_column", "test_huge_logits", "test_gradient")},
            **{f"TestBinaryMetrics::{t}": "sensitivity and specificity are swapped" for t in
               ("test_booleans", "test_integers_and_floats", "test_undefined_ratios_are_zero")}},
    "hana": {f"TestBinaryMetrics::{t}": "precision is the sensitivity again" for t in
             ("test_booleans", "test_integers_and_floats", "test_undefined_ratios_are_zero")},
    "ivan": {f"TestBinaryMetrics::{t}": "came back as nan" for t in
             ("test_undefined_ratios_are_zero", "test_no_messages")},
    "nora": {**{f"TestSigmoid::{t}": "float32 for a float64 input" for t in
                ("test_float64_and_other_shapes", "test_huge_inputs")},
             **{f"TestBceWithLogits::{t}": "minus sign" for t in
                ("test_float32_vector", "test_float64_column", "test_huge_logits", "test_gradient")}},
}


@pytest.mark.slow
def test_wrong_answers_name_their_mistake(demo_course, capsys):
    wrong, named = assert_diagnoses(class_results(demo_course, A03), DIAGNOSED)
    with capsys.disabled():
        print(f"\na03 sample class: {wrong} wrong answers (a value came back and failed), {named} named rightly")


@pytest.mark.slow
def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A03)

    def message(student: str, test_name: str) -> str:
        return failure_message(graded, student, test_name)

    # A nan gradient where the sigmoid's slope is 0: the non-finite values are named, the hint says why.
    mo = message("mo", "TestSigmoid::test_gradient")
    assert "sigmoid" in mo and "nan" in mo and "Hint:" in mo and mo.startswith("sigmoid(")
    # A threshold of 0 on probabilities: every message predicted spam, and the message says so.
    assert "every message was predicted spam" in message("hana", "test_filters_secret_messages")
    # The lookup model finds none of the hidden messages on disk: it predicts ham for all of them (or, on a
    # loaded machine, its search of the disk runs out of the call's time: nothing either way).
    kai = message("kai", "test_filters_secret_messages")
    assert "every message was predicted ham" in kai or "did not return within" in kai
    # The crash: the student's traceback.
    assert "TypeError" in message("ivan", "test_filters_secret_messages")
    # The endless training runs into the per-call budget; the kernel is replaced and grading goes on.
    assert "did not return within" in message("jade", "test_filters_secret_messages")
    # The stubs.
    assert "NotImplementedError" in message("dan", "test_filters_secret_messages")
