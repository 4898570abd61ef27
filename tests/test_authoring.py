"""The course author's check: the rows that catch a vacuous gradient test, and failures shown whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.authoring import check_assignment
from autograder.course.assignment import Assignment
from autograder.grading.reference_check import GRADIENT_CHECK, check_reference

from .conftest import TOY_ROOT

pytestmark = pytest.mark.slow  # real kernels, real nbgrader

SUITE = '''
import torch

from autograder.testing import assert_close, assert_gradients_close, grade_cell, points


@grade_cell("test_softmax")
class TestSoftmax:
    @points(1)
    def test_values(self, student, reference, rng):
        x = rng.logits((4, 6))
        assert_close(student.softmax(x), reference.softmax(x), fn="softmax", inputs={{"logits": x}})

    @points(1)
    def test_gradient(self, student, reference, rng):
        x = rng.logits((4, 6))
        _, got = student.gradients("softmax", (x,), wrt=(0,){grad_output})
        _, want = reference.gradients("softmax", (x,), wrt=(0,){grad_output})
        assert_gradients_close(got, want, fn="softmax", inputs={{"logits": x}}, wrt=("logits",))
'''


def softmax_course(tmp_path: Path, *, grad_output: str = "", reference_dim: int = -1) -> Assignment:
    """The toy course with a softmax exercise: a solution cell, a grade cell worth 2, a hidden test class."""
    root = tmp_path / "course"
    shutil.copytree(TOY_ROOT, root)
    reference = root / "reference" / "toy.py"
    reference.write_text(reference.read_text() + f"\n\ndef softmax(x):\n    import torch\n\n"
                         f"    return torch.softmax(x, dim={reference_dim})\n")
    (root / "assignments" / "toy" / "hidden" / "test_softmax.py").write_text(SUITE.format(grad_output=grad_output))
    path = root / "assignments" / "source" / "toy" / "toy.ipynb"
    notebook = nbformat.read(path, as_version=4)
    flags = {"locked": False, "schema_version": 3, "task": False}
    notebook.cells += [
        nbformat.v4.new_code_cell(
            "def softmax(x):\n    ### BEGIN SOLUTION\n    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)\n"
            "    return e / e.sum(dim=-1, keepdim=True)\n    ### END SOLUTION",
            metadata={"nbgrader": {**flags, "grade": False, "grade_id": "softmax", "solution": True}}),
        nbformat.v4.new_code_cell(
            "assert softmax(torch.zeros(1, 2)).tolist() == [[0.5, 0.5]]",
            metadata={"nbgrader": {**flags, "grade": True, "grade_id": "test_softmax", "locked": True,
                                   "points": 2, "solution": False}}),
    ]
    nbformat.write(notebook, path)
    return Assignment("toy", root)


def rows(checks) -> dict:
    return {check.name: check for check in checks}


def test_a_gradient_test_without_grad_output_passes_the_check(tmp_path):
    checks, _ = check_reference(softmax_course(tmp_path), seeds=2, margin=0.5)
    assert all(check.ok for check in checks), [check.detail for check in checks if not check.ok]
    assert rows(checks)[GRADIENT_CHECK].detail == "4 reference gradient calls, none all zero"
    assert "the notebook's solutions score full marks against the reference (seed 2, tolerances at 50%)" in rows(checks)


def test_a_vacuous_gradient_test_is_flagged_with_its_fix(tmp_path):
    course = softmax_course(tmp_path, grad_output=", grad_output=torch.ones(4, 6)")
    checks = rows(check_assignment(course, seeds=[1], sample_class=False))  # expected_scores.json: no softmax cell
    assert [name for name, check in checks.items() if not check.ok] == [GRADIENT_CHECK]
    detail = checks[GRADIENT_CHECK].detail
    assert detail.startswith("TestSoftmax::test_gradient (seed 1): reference.gradients('softmax', wrt=(0,)) with "
                             "the grad_output it passes returned only zero gradients")
    assert "pass grad_output=... or test another input" in detail
    assert "test_gradient" not in detail.replace("TestSoftmax::test_gradient", "")  # toy's double test is fine


def test_a_failing_check_shows_each_whole_message_and_its_seed(tmp_path):
    checks, _ = check_reference(softmax_course(tmp_path, reference_dim=0), seeds=2, margin=0.5)
    for seed in (1, 2):
        row = rows(checks)[f"the notebook's solutions score full marks against the reference (seed {seed}, "
                           "tolerances at 50%)"]
        assert not row.ok
        values, gradient = row.detail.split("\n\n")
        assert values.startswith(f"TestSoftmax::test_values failed under seed {seed}:\n"
                                 "softmax(logits: float32[4, 6]) -> result: values are not close.\n"
                                 "Mismatched elements: ")
        assert "Greatest absolute difference: " in values and "First mismatch at index" in values
        assert gradient.startswith(f"TestSoftmax::test_gradient failed under seed {seed}:\n"
                                   "softmax(logits: float32[4, 6]) -> gradient of softmax w.r.t. logits: values are "
                                   "not close.\nMismatched elements: ")
