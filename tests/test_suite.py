"""The pytest plugin: points, grade cells, secret inputs, and student failures kept to their tests."""

from __future__ import annotations

import shutil

import pytest
import torch

from autograder.grading.suite import SecretRandom, SuiteError, load_reference, run_suite
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel

LIMITS = Limits(call_timeout_s=8)


def run(toy_assignment, cells, seed=7, suite_dir=None):
    reference = load_reference(toy_assignment.reference_path)
    with StudentKernel(cells, LIMITS) as kernel:
        kernel.run_notebook()
        return {t.test_id: t for t in run_suite(suite_dir or toy_assignment.suite_dir, kernel, reference, seed)}


@pytest.mark.slow
def test_correct_student_in_another_style_gets_every_point(toy_assignment):
    results = run(toy_assignment, ["import torch\ndef double(x):\n    return torch.add(x, x)\n"
                                   "def square(x):\n    return x ** 2"])
    assert all(t.passed for t in results.values())
    assert {t.cell for t in results.values()} == {"test_double", "test_square"}
    assert sum(t.points for t in results.values()) == 4


@pytest.mark.slow
def test_subtly_wrong_student_fails_with_a_message_naming_function_and_shapes(toy_assignment):
    results = run(toy_assignment, ["import torch\ndef double(x):\n    return (x * 2).float()\n"
                                   "def square(x):\n    return x * x + 1e-3"])
    assert results["TestDouble::test_values"].passed
    float64 = results["TestDouble::test_float64"]
    assert float64.outcome == "failed" and float64.points == 0
    assert "double(x: float64[5])" in float64.message and "dtype" in float64.message
    assert results["test_square"].outcome == "failed"


@pytest.mark.slow
def test_a_raising_function_fails_only_its_own_tests(toy_assignment):
    results = run(toy_assignment, ["def double(x):\n    raise RuntimeError('not yet')\n"
                                   "def square(x):\n    return x * x"])
    assert results["test_square"].passed
    assert results["TestDouble::test_values"].student_error
    assert "not yet" in results["TestDouble::test_values"].message


def test_inputs_depend_on_the_secret_seed_and_the_test_only():
    first, again, other_test, other_seed = (SecretRandom(1, "t1"), SecretRandom(1, "t1"),
                                             SecretRandom(1, "t2"), SecretRandom(2, "t1"))
    sample = first.normal((4,))
    assert torch.equal(sample, again.normal((4,)))
    assert not torch.equal(sample, other_test.normal((4,)))
    assert not torch.equal(sample, other_seed.normal((4,)))
    assert first.normal((3,), dtype=torch.float64).dtype == torch.float64


@pytest.mark.slow
def test_a_test_without_points_makes_the_suite_refuse_to_grade(toy_assignment, tmp_path):
    suite = tmp_path / "hidden"
    shutil.copytree(toy_assignment.suite_dir, suite)
    (suite / "test_extra.py").write_text("def test_unmarked(student):\n    assert True\n")
    with pytest.raises(SuiteError, match="needs @points"):
        run(toy_assignment, ["def double(x):\n    return x * 2"], suite_dir=suite)


@pytest.mark.slow
def test_a_suite_that_cannot_import_is_reported_with_its_file(toy_assignment, tmp_path):
    suite = tmp_path / "hidden"
    shutil.copytree(toy_assignment.suite_dir, suite)
    (suite / "test_broken.py").write_text("import no_such_module_anywhere\n")
    with pytest.raises(SuiteError, match=r"test_broken\.py"):
        run(toy_assignment, ["def double(x):\n    return x * 2"], suite_dir=suite)
