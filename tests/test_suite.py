"""The pytest plugin: points, grade cells, secret inputs, and student failures kept to their tests."""

from __future__ import annotations

import copy
import shutil
import types

import pytest
import torch

from autograder.grading.compare import ComparisonError, assert_gradients_close
from autograder.grading.suite import (
    GradOutputs,
    ReferenceProxy,
    SecretRandom,
    StudentProxy,
    SuiteError,
    load_reference,
    run_suite,
)
from autograder.sandbox import wire
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentCodeError, StudentKernel

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
def test_a_plain_assert_in_a_suite_shows_the_student_no_hidden_value(toy_assignment, tmp_path):
    suite = tmp_path / "hidden"
    shutil.copytree(toy_assignment.suite_dir, suite)
    (suite / "test_plain.py").write_text(
        "import torch\nfrom autograder.testing import grade_cell, points\n\n"
        "@grade_cell('test_double')\n@points(0)\ndef test_plain(student, rng):\n"
        "    x = torch.tensor([12345.5, 67890.25])\n    assert torch.equal(student.double(x), x * 3)\n")
    results = run(toy_assignment, ["def double(x):\n    return x * 2\ndef square(x):\n    return x * x"],
                  suite_dir=suite)
    plain = results["test_plain"]
    assert plain.outcome == "failed" and plain.message == "a hidden check failed (the test states no detail)"
    assert "12345" not in plain.message and "24691" not in plain.message


@pytest.mark.slow
def test_a_suite_that_cannot_import_is_reported_with_its_file(toy_assignment, tmp_path):
    suite = tmp_path / "hidden"
    shutil.copytree(toy_assignment.suite_dir, suite)
    (suite / "test_broken.py").write_text("import no_such_module_anywhere\n")
    with pytest.raises(SuiteError, match=r"test_broken\.py"):
        run(toy_assignment, ["def double(x):\n    return x * 2"], suite_dir=suite)


# ----------------------------------------------------------------- gradients: the default grad_output

class SoftmaxBackwardIgnoresWeights(torch.autograd.Function):
    """Right values, wrong gradient: backward treats every output alike. Under grad_output = ones (the gradient
    of sum(softmax), zero for any code) it looks right; under any other weights it is wrong."""

    @staticmethod
    def forward(ctx, x):
        s = torch.softmax(x, dim=-1)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - g.mean(dim=-1, keepdim=True))


def right_softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def reference_module(**functions):
    module = types.ModuleType("softmax_reference")
    module.softmax = lambda x: torch.softmax(x, dim=-1)
    module.__dict__.update(functions)
    return module


class LocalKernel:
    """Stands in for a StudentKernel: calls the functions here, through the same `wire.invoke`."""

    def __init__(self, **functions):
        self.functions = functions
        self.calls = []

    def call(self, name, args=(), kwargs=None, *, wrt=(), grad_output=None, banned_ops=(), inputs=None):
        self.calls.append({"name": name, "wrt": tuple(wrt), "grad_output": grad_output})
        try:
            return wire.invoke(self.functions[name], copy.deepcopy(args), kwargs or {}, tuple(wrt), grad_output)
        except Exception as error:
            raise StudentCodeError(f"{name} raised an exception", f"{type(error).__name__}: {error}") from None


def proxies(kernel, job_seed=7, test_id="TestSoftmax::test_gradient", **reference_functions):
    defaults = GradOutputs(job_seed, reference_module(**reference_functions))
    defaults.start(test_id)
    return StudentProxy(kernel, grad_outputs=defaults), ReferenceProxy(defaults.reference, defaults), defaults


def test_the_default_grad_output_is_secret_per_test_and_seed_and_the_same_for_both_sides():
    def weights(job_seed, test_id, shape=(4, 6)):
        defaults = GradOutputs(job_seed)
        defaults.start(test_id)
        return defaults.default_for(torch.zeros(shape))

    first = weights(7, "t1")
    assert first.shape == (4, 6) and first.dtype == torch.float64 and first.std() > 0.5
    assert torch.equal(first, weights(7, "t1"))
    assert not torch.equal(first, weights(7, "t2")) and not torch.equal(first, weights(8, "t1"))
    assert weights(7, "t1", (6, 4)).shape == (6, 4)
    # One element: the plain gradient (ones), so a loss's gradient stays comparable with a hand-written one.
    assert weights(7, "t1", ()) is None and weights(7, "t1", (1,)) is None
    assert GradOutputs(7).default_for(3.0) is None

    kernel = LocalKernel(softmax=right_softmax)
    student, reference, _ = proxies(kernel, test_id="t1")
    x = torch.randn(4, 6)
    reference.gradients("softmax", (x,), wrt=(0,))
    student.gradients("softmax", (x,), wrt=(0,))
    assert torch.equal(kernel.calls[-1]["grad_output"], first)


def test_a_wrong_softmax_gradient_no_longer_passes_by_default():
    x = torch.randn(4, 6, dtype=torch.float64)
    for wrong in (SoftmaxBackwardIgnoresWeights.apply, lambda v: torch.softmax(v.detach(), dim=-1)):
        student, reference, _ = proxies(LocalKernel(softmax=wrong))
        ones = torch.ones(4, 6, dtype=torch.float64)
        if wrong is SoftmaxBackwardIgnoresWeights.apply:  # the trap: with ones this student passes
            assert_gradients_close(student.gradients("softmax", (x,), (0,), grad_output=ones)[1],
                                   reference.gradients("softmax", (x,), (0,), grad_output=ones)[1], fn="softmax")
        _, got = student.gradients("softmax", (x,), wrt=(0,))
        _, want = reference.gradients("softmax", (x,), wrt=(0,))
        with pytest.raises(ComparisonError, match="gradient of softmax"):
            assert_gradients_close(got, want, fn="softmax", wrt=("x",))

    student, reference, defaults = proxies(LocalKernel(softmax=right_softmax))
    _, got = student.gradients("softmax", (x,), wrt=(0,))
    _, want = reference.gradients("softmax", (x,), wrt=(0,))
    assert_gradients_close(got, want, fn="softmax", wrt=("x",))
    assert defaults.zero_gradients == {} and defaults.reference_calls == 1


def test_reference_gradients_that_are_all_zero_are_recorded_for_the_check():
    x = torch.randn(4, 6)
    _, reference, defaults = proxies(LocalKernel(), double=lambda v: v * 2)
    reference.gradients("softmax", (x,), wrt=(0,))
    assert defaults.zero_gradients == {}
    _, want = reference.gradients("softmax", (x,), wrt=(0,), grad_output=torch.ones(4, 6))
    assert 0 < float(want[0].abs().max()) < 1e-5 or not want[0].any()  # zero up to rounding: still vacuous
    defaults.start("test_other")
    reference.gradients("double", (x,), wrt=(0,), grad_output=torch.zeros(4, 6))
    assert defaults.zero_gradients == {
        "TestSoftmax::test_gradient": ["reference.gradients('softmax', wrt=(0,)) with the grad_output it passes"],
        "test_other": ["reference.gradients('double', wrt=(0,)) with the grad_output it passes"],
    }


def test_the_default_follows_the_reference_and_a_wrong_shape_is_named():
    x = torch.randn(4, 6)
    student, _, _ = proxies(LocalKernel(softmax=lambda v: torch.softmax(v, dim=-1).sum(dim=0)))
    with pytest.raises(ComparisonError, match=r"softmax\(float32\[4, 6\]\) -> result: shape mismatch: expected "
                                              r"\[4, 6\], got \[6\]"):
        student.gradients("softmax", (x,), wrt=(0,))
    # No function of that name in the reference: the student's own output gives the shape.
    kernel = LocalKernel(helper=right_softmax)
    student, _, defaults = proxies(kernel)
    student.gradients("helper", (x,), wrt=(0,))
    assert [call["wrt"] for call in kernel.calls] == [(), (0,)]
    assert torch.equal(kernel.calls[-1]["grad_output"], defaults.default_for(x))
    # An explicit grad_output wins, and goes to the kernel as given.
    given = torch.ones(4, 6)
    student.gradients("helper", (x,), wrt=(0,), grad_output=given)
    assert kernel.calls[-1]["grad_output"] is given


SOFTMAX_SUITE = '''
from autograder.testing import assert_gradients_close, grade_cell, points


@grade_cell("test_softmax")
@points(1)
def test_softmax_gradient(student, reference, rng):
    x = rng.logits((4, 6))
    _, got = student.gradients("softmax", (x,), wrt=(0,))
    _, want = reference.gradients("softmax", (x,), wrt=(0,))
    assert_gradients_close(got, want, fn="softmax", inputs={"logits": x}, wrt=("logits",))
'''
SOFTMAX_REFERENCE = "import torch\n\ndef softmax(x):\n    return torch.softmax(x, dim=-1)\n"
RIGHT_SOFTMAX = """import torch
def softmax(x):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)
"""
# Right values; backward treats every output alike, which only the gradient of sum(softmax) cannot see.
WRONG_BACKWARD_SOFTMAX = """import torch
class _Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = torch.softmax(x, dim=-1)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - g.mean(dim=-1, keepdim=True))

def softmax(x):
    return _Softmax.apply(x)
"""
DETACHED_SOFTMAX = "import torch\ndef softmax(x):\n    return torch.softmax(x.detach(), dim=-1)\n"


@pytest.mark.slow
@pytest.mark.parametrize("source, passes", [(RIGHT_SOFTMAX, True), (WRONG_BACKWARD_SOFTMAX, False),
                                            (DETACHED_SOFTMAX, False)], ids=["right", "wrong_backward", "detached"])
def test_a_softmax_gradient_test_without_grad_output_tells_right_from_wrong(tmp_path, source, passes):
    suite = tmp_path / "hidden"
    suite.mkdir()
    (suite / "test_softmax.py").write_text(SOFTMAX_SUITE)
    (tmp_path / "softmax_reference.py").write_text(SOFTMAX_REFERENCE)
    reference = load_reference(tmp_path / "softmax_reference.py")
    with StudentKernel([source], LIMITS) as kernel:
        kernel.run_notebook()
        for seed in (1, 2):
            (result,) = run_suite(suite, kernel, reference, seed)
            assert result.passed == passes, result.message
            if not passes:
                assert "gradient of softmax w.r.t. logits" in result.message


@pytest.mark.slow
def test_a_suite_edited_or_another_of_the_same_file_name_runs_its_own_code(toy_assignment, tmp_path):
    """pytest's importlib mode would reuse the first test_toy.py imported in this process."""
    reference = load_reference(toy_assignment.reference_path)
    edited = tmp_path / "hidden"
    shutil.copytree(toy_assignment.suite_dir, edited)
    path = edited / "test_toy.py"
    path.write_text(path.read_text().replace("def test_square(student, reference, rng):\n",
                                             "def test_square(student, reference, rng):\n    assert False, 'edited'\n"))
    with StudentKernel(["def double(x):\n    return x * 2\ndef square(x):\n    return x * x"], LIMITS) as kernel:
        kernel.run_notebook()
        square = [{t.test_id: t for t in run_suite(suite, kernel, reference, 1)}["test_square"]
                  for suite in (toy_assignment.suite_dir, edited, toy_assignment.suite_dir)]
    assert [t.passed for t in square] == [True, False, True]
    assert "edited" in square[1].message
