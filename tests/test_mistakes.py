"""Naming the mistake: the catalogue engine on constructed values, a01's catalogue, and a01's sample class graded."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from autograder.course.assignment import Assignment
from autograder.grading.handles import Handle
from autograder.grading.suite import SecretRandom, load_reference, run_suite
from autograder.sandbox.kernel import StudentKernel
from autograder.testing import (
    Catalogue,
    ComparisonError,
    Mistake,
    assert_close,
    assert_gradients_close,
    assert_scalar_close,
    load_catalogue,
    tolerance_margin,
)

from .sample_class import class_results

REPO = Path(__file__).resolve().parents[1]
A01 = Assignment("a01_gradient_descent", REPO)
A01_MISTAKES = A01.suite_dir / "mistakes.py"


def mse_grad(X, y, w, b):
    error = X @ w + b - y
    return 2 * X.T @ error / len(y), 2 * error.sum() / len(y)


def half(X, y, w, b):
    dw, db = mse_grad(X, y, w, b)
    return dw / 2, db / 2


def summed(X, y, w, b):
    dw, db = mse_grad(X, y, w, b)
    return dw * len(y), db * len(y)


HALF = Mistake("half_gradient", half, "the factor 2 is missing?", "3. The gradient")
SUMMED = Mistake("summed", summed, "a sum, not a mean")


def catalogue(*mistakes: Mistake, fn: str = "mse_grad") -> Catalogue:
    made = Catalogue()
    for mistake in mistakes:
        made.add(fn, mistake)
    return made


def data(n: int = 8, d: int = 3, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=generator), torch.randn(n, generator=generator),
            torch.randn(d, generator=generator), torch.randn((), generator=generator))


def failure(block, check) -> str:
    with pytest.raises(ComparisonError) as caught, block:
        check()
    return str(caught.value)


def plain(check) -> str:
    with pytest.raises(ComparisonError) as caught:
        check()
    return str(caught.value)


# ----------------------------------------------------------------- the engine


def test_a_matching_mistake_is_named_first_and_the_plain_message_stays():
    X, y, w, b = data()
    check = lambda: assert_close(half(X, y, w, b), mse_grad(X, y, w, b), fn="mse_grad", inputs=(X, y, w, b),  # noqa: E731
                                 hint="2/n")
    message = failure(catalogue(HALF, SUMMED).diagnose("mse_grad", X, y, w, b), check)
    first, rest = message.split("\n", 1)
    assert first == 'Likely mistake: the factor 2 is missing? (notebook section "3. The gradient")'
    assert rest == plain(check)


def test_without_a_match_the_plain_message_stands_alone():
    X, y, w, b = data()
    dw, db = mse_grad(X, y, w, b)
    check = lambda: assert_close((dw * 3, db * 3), (dw, db), fn="mse_grad")  # noqa: E731
    assert failure(catalogue(HALF, SUMMED).diagnose("mse_grad", X, y, w, b), check) == plain(check)
    assert "Likely mistake" not in plain(check)


def test_a_mistake_is_matched_within_the_comparisons_own_tolerance():
    X, y, w, b = data()
    dw, db = half(X, y, w, b)
    block = catalogue(HALF).diagnose("mse_grad", X, y, w, b)
    near = lambda: assert_close((dw * (1 + 5e-5), db), mse_grad(X, y, w, b), fn="f", rtol=1e-4, atol=0)  # noqa: E731
    assert failure(block, near).startswith("Likely mistake")
    far = lambda: assert_close((dw * (1 + 5e-3), db), mse_grad(X, y, w, b), fn="f", rtol=1e-4, atol=0)  # noqa: E731
    assert failure(catalogue(HALF).diagnose("mse_grad", X, y, w, b), far) == plain(far)
    # The margin of the author's check shrinks the test's tolerance for the match too.
    with tolerance_margin(0.1):
        assert failure(catalogue(HALF).diagnose("mse_grad", X, y, w, b), near) == plain(near)


def test_mistakes_that_match_with_different_messages_name_nothing():
    X, y, w, b = data(n=2)  # with n = 2, half the gradient is also the gradient divided by n twice
    twice = Mistake("twice", lambda X, y, w, b: tuple(g / len(y) for g in mse_grad(X, y, w, b)), "divided twice")
    check = lambda: assert_close(half(X, y, w, b), mse_grad(X, y, w, b), fn="mse_grad")  # noqa: E731
    assert failure(catalogue(HALF, twice).diagnose("mse_grad", X, y, w, b), check) == plain(check)
    same = Mistake("twice", twice.compute, HALF.message, HALF.section)
    assert failure(catalogue(HALF, same).diagnose("mse_grad", X, y, w, b), check).startswith("Likely mistake: the f")


def test_a_mistake_that_gives_the_right_answer_on_these_inputs_is_skipped():
    X, y, w, b = data()
    # Within tolerance of the reference (atol 1e-3) a mistake says nothing, even where the student's value,
    # which fails, is within tolerance of it: tolerances do not chain.
    right_here = Mistake("right_here", lambda X, y, w, b: torch.tensor(0.0009), "near enough")
    check = lambda: assert_close(torch.tensor(0.0018), torch.tensor(0.0), fn="f", rtol=0, atol=1e-3)  # noqa: E731
    assert failure(catalogue(right_here).diagnose("mse_grad", X, y, w, b), check) == plain(check)
    wrong_here = Mistake("wrong_here", lambda X, y, w, b: torch.tensor(0.0015), "off")
    assert failure(catalogue(wrong_here).diagnose("mse_grad", X, y, w, b), check).startswith("Likely mistake: off")


def test_a_mistake_that_raises_names_nothing_and_breaks_nothing():
    X, y, w, b = data()

    def broken(X, y, w, b):
        raise RuntimeError("catalogue bug")

    check = lambda: assert_close(half(X, y, w, b), mse_grad(X, y, w, b), fn="mse_grad")  # noqa: E731
    made = catalogue(Mistake("broken", broken, "never shown"), HALF)
    assert failure(made.diagnose("mse_grad", X, y, w, b), check).startswith("Likely mistake: the factor 2")
    assert failure(catalogue(Mistake("broken", broken, "x")).diagnose("mse_grad", X, y, w, b), check) == plain(check)


def test_mistakes_get_copies_taken_when_the_block_starts_and_run_only_on_a_failure():
    X, y, w, b = data()
    seen = []

    def nosy(X, y, w, b):
        seen.append(w.clone())
        w.add_(100.0)
        return half(X, y, w, b)

    made = catalogue(Mistake("nosy", nosy, "nosy"))
    want = mse_grad(X, y, w, b)
    with made.diagnose("mse_grad", X, y, w, b):
        assert_close(want, want, fn="mse_grad")
    assert seen == []  # a comparison that passes evaluates nothing
    original = w.clone()
    block = made.diagnose("mse_grad", X, y, w, b)
    w.mul_(0)  # the suite changes its tensor after the block began: the mistakes still see the inputs
    w.add_(original)
    failure(block, lambda: assert_close((want[0] + 1, want[1]), want, fn="mse_grad"))
    assert len(seen) == 1 and torch.equal(seen[0], original) and torch.equal(w, original)


def test_mistakes_are_evaluated_once_per_block():
    X, y, w, b = data()
    calls = []
    made = catalogue(Mistake("counted", lambda *args: calls.append(1) or half(*args), "counted"))
    want = mse_grad(X, y, w, b)
    with made.diagnose("mse_grad", X, y, w, b):
        for _ in range(3):
            with pytest.raises(ComparisonError):
                assert_close(half(X, y, w, b), want, fn="mse_grad")
    assert len(calls) == 1


def test_the_diagnosis_holds_only_inside_its_block():
    X, y, w, b = data()
    check = lambda: assert_close(half(X, y, w, b), mse_grad(X, y, w, b), fn="mse_grad")  # noqa: E731
    with catalogue(HALF).diagnose("mse_grad", X, y, w, b):
        pass
    assert plain(check) == failure(catalogue(HALF).diagnose("other", X, y, w, b), check)
    assert "Likely mistake" not in plain(check)


def test_shape_and_type_mismatches_are_diagnosed_too():
    X, _, w, b = data()
    column = Mistake("column", lambda X, w, b: X @ w.reshape(-1, 1) + b, "a column", "1. A neuron")
    check = lambda: assert_close(X @ w.reshape(-1, 1) + b, X @ w + b, fn="predict")  # noqa: E731
    message = failure(catalogue(column, fn="predict").diagnose("predict", X, w, b), check)
    assert message.splitlines()[0] == 'Likely mistake: a column (notebook section "1. A neuron")'
    assert "shape mismatch" in message.splitlines()[1]


def test_scalars_are_diagnosed():
    y_hat, y = torch.randn(6), torch.randn(6)
    summed_loss = Mistake("sum", lambda y_hat, y: ((y_hat - y) ** 2).sum(), "a sum")
    check = lambda: assert_scalar_close(((y_hat - y) ** 2).sum(), ((y_hat - y) ** 2).mean(), fn="mse")  # noqa: E731
    assert failure(catalogue(summed_loss, fn="mse").diagnose("mse", y_hat, y), check).startswith("Likely mistake: a s")


def test_gradients_are_diagnosed_from_the_mistakes_own_gradients():
    y_hat, y = torch.randn(6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    summed_loss = Mistake("sum", lambda y_hat, y: ((y_hat - y) ** 2).sum(), "a sum")
    constant = Mistake("constant", lambda y_hat, y: torch.tensor(6578.83), "a constant")
    made = catalogue(summed_loss, constant, fn="mse")
    right = (2 * (y_hat - y) / 6,)
    check = lambda: assert_gradients_close((2 * (y_hat - y),), right, fn="mse", wrt=("y_hat",))  # noqa: E731
    assert failure(made.diagnose_gradients("mse", (y_hat, y), wrt=(0,)), check).startswith("Likely mistake: a sum")
    detached = lambda: assert_gradients_close((None,), right, fn="mse", wrt=("y_hat",))  # noqa: E731
    message = failure(made.diagnose_gradients("mse", (y_hat, y), wrt=(0,)), detached)
    assert message.startswith("Likely mistake: a constant") and "no gradient reached y_hat" in message
    # A non-scalar output's gradient needs the test's grad_output: without it, nothing is named.
    squares = Mistake("squares", lambda y_hat, y: (y_hat - y) ** 2, "squares")
    g = torch.randn(6, dtype=torch.float64)
    student = (2 * (y_hat - y) * g,)
    check = lambda: assert_gradients_close(student, right, fn="mse", wrt=("y_hat",))  # noqa: E731
    assert failure(catalogue(squares, fn="mse").diagnose_gradients("mse", (y_hat, y), wrt=(0,)), check) == plain(check)
    given = catalogue(squares, fn="mse").diagnose_gradients("mse", (y_hat, y), wrt=(0,), grad_output=g)
    assert failure(given, check).startswith("Likely mistake: squares")
    with pytest.raises(ValueError, match="wrt"):
        made.diagnose_gradients("mse", (y_hat, y), wrt=(2,))


def test_handles_and_malformed_mistakes_are_refused():
    made = Catalogue()
    with pytest.raises(TypeError, match="Handle"):
        made.diagnose("f", [Handle.__new__(Handle)])
    with pytest.raises(TypeError, match="message"):
        made.add("f", Mistake("m", half, ""))
    made.add("f", HALF)
    with pytest.raises(ValueError, match="already has"):
        made.add("f", HALF)

    @made.mistake("g", message="m", section="s")
    def slip(x):
        return x

    assert slip(3) == 3 and made.mistakes("g") == (Mistake("slip", slip, "m", "s"),)
    assert made.functions() == ("f", "g") and made.sections() == {"3. The gradient", "s"} and made.mistakes("h") == ()


def test_load_catalogue_wants_a_catalogue(tmp_path):
    (tmp_path / "mistakes.py").write_text("CATALOGUE = {}\n")
    with pytest.raises(TypeError, match="CATALOGUE"):
        load_catalogue(tmp_path / "mistakes.py")
    with pytest.raises(FileNotFoundError):
        load_catalogue(tmp_path / "absent.py")


# ----------------------------------------------------------------- a01's catalogue


def notebook_sections(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return {line.lstrip("#").strip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")}


# Generic inputs of each a01 function, shaped like the suite's (no special sizes such as n = 1 or n = 2).
def a01_inputs(rng: SecretRandom) -> dict[str, tuple[tuple, dict]]:
    X, y = rng.normal((10, 3)), rng.normal((10,))
    w, b = rng.normal((3,)), rng.normal(())
    return {
        "predict": ((X.double(), w.double(), b.double()), {}),  # float64: one mistake is computing in float32
        "mse": ((rng.normal((9,)), rng.normal((9,), std=3.0)), {}),
        "mse_grad": ((X, y, w, b), {}),
        "gd_step": ((w, b, rng.normal((3,)), rng.normal(()), 0.3), {}),
        "train_linear": ((X, y, 0.05, 4), {"batch_size": 4}),
        "fit_quadratic": ((torch.linspace(-2, 2, 20), rng.normal((20,), std=2.0), 3, 0.01), {}),
    }


def test_a01_catalogue_points_to_sections_of_the_notebook_and_functions_of_the_reference():
    mistakes = load_catalogue(A01_MISTAKES)
    assert mistakes.sections() <= notebook_sections(A01.source_notebook)
    reference = load_reference(A01.reference_path)
    assert set(mistakes.functions()) == {"predict", "mse", "mse_grad", "gd_step", "train_linear", "fit_quadratic"}
    assert all(callable(getattr(reference, fn, None)) for fn in mistakes.functions())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_a01_mistake_differs_from_the_reference_and_from_each_other(seed):
    """On generic inputs each mistake fails the comparison, and no two of one function give the same answer.

    So each can be named: a mistake that gave the right answer, or the same answer as another, never would be.
    """
    mistakes, reference = load_catalogue(A01_MISTAKES), load_reference(A01.reference_path)
    for fn, (args, kwargs) in a01_inputs(SecretRandom(seed, "catalogue")).items():
        want = getattr(reference, fn)(*args, **kwargs)
        values = {m.name: m.compute(*args, **kwargs) for m in mistakes.mistakes(fn)}
        for name, value in values.items():
            with pytest.raises(ComparisonError):
                assert_close(value, want, fn=f"{fn}: {name}", rtol=1e-4, atol=1e-5)
        for (first, one), (second, other) in itertools.combinations(values.items(), 2):
            with pytest.raises(ComparisonError):
                assert_close(one, other, fn=f"{fn}: {first} against {second}", rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------- a01's sample class, graded

# What each sample student's failed tests should name (the mistake stated atop the student's file): test id ->
# the catalogue's mistake. A failed test not listed must carry no diagnosis.
EXPECTED = {
    "carol": {f"TestMseGrad::{test}": "half_gradient"
              for test in ("test_values[one_example]", "test_values[batch]", "test_matches_autograd_in_float64")},
    "ivan": {"TestMse::test_values": "example_loss", "TestMse::test_autograd_flows_through": "example_loss",
             **{f"TestMseGrad::{test}": "example_gradient"
                for test in ("test_values[one_example]", "test_values[batch]", "test_matches_autograd_in_float64")},
             "TestGdStep::test_values": "example_step", "TestGdStep::test_float64": "example_step",
             "TestFitQuadratic::test_first_steps": "example_coefficients",
             "TestFitQuadratic::test_recovers_secret_coefficients": "example_coefficients"},
    "judy": {**{f"TestTrainLinear::{test}": "notebook_answer" for test in
                ("test_full_batch_curve", "test_mini_batch_curve", "test_learns_a_secret_linear_relation")},
             "TestFitQuadratic::test_first_steps": "closed_form_quadratic",
             "TestFitQuadratic::test_recovers_secret_coefficients": "closed_form_quadratic"},
    "karl": {**{f"TestTrainLinear::{test}": "closed_form_fit" for test in
                ("test_full_batch_curve", "test_mini_batch_curve", "test_learns_a_secret_linear_relation")},
             "TestFitQuadratic::test_first_steps": "closed_form_quadratic",
             "TestFitQuadratic::test_recovers_secret_coefficients": "closed_form_quadratic"},
}
# A student of no catalogued mistake: gradients three times too large, a step twice too long.
UNCATALOGUED = """
def mse_grad(X, y, w, b):
    error = X @ w + b - y
    return 6 * X.T @ error / len(y), 6 * error.mean()

def gd_step(w, b, dw, db, lr):
    return w - 2 * lr * dw, b - 2 * lr * db
"""


def grade(cells: list[str], seed: int) -> dict:
    with StudentKernel(["import torch", *cells], A01.limits()) as kernel:
        kernel.run_notebook()
        return {t.test_id: t for t in run_suite(A01.suite_dir, kernel, load_reference(A01.reference_path), seed)}


@pytest.fixture(scope="module")
def graded_class(a01_class_course) -> dict[str, dict]:
    """Each sample student's test results, from the class test_a01 grades through nbgrader (graded once)."""
    return {student: {t.test_id: t for t in result.tests}
            for student, result in class_results(a01_class_course, A01).items()}


def diagnoses(tests: dict) -> dict[str, str]:
    return {test_id: t.message.splitlines()[0] for test_id, t in tests.items()
            if not t.passed and t.message.startswith("Likely mistake: ")}


@pytest.mark.slow
def test_a01_sample_class_gets_exactly_the_diagnoses_of_its_stated_mistakes(graded_class):
    mistakes = load_catalogue(A01_MISTAKES)
    lines = {m.name: m.line() for fn in mistakes.functions() for m in mistakes.mistakes(fn)}
    assert lines["half_gradient"] == (
        "Likely mistake: your dw and db are exactly half of the expected gradients: the factor 2 from the "
        'derivative of the square is missing? (notebook section "3. Which way to turn the dials? The gradient")')
    for student, tests in graded_class.items():
        want = {test_id: lines[name] for test_id, name in EXPECTED.get(student, {}).items()}
        assert diagnoses(tests) == want, student
        for test_id in want:  # the plain comparison message still follows, the call and hint and all
            message = tests[test_id].message
            assert " -> " in message.splitlines()[1] and "Hint:" in message and tests[test_id].points == 0


@pytest.mark.slow
def test_a01_diagnosis_share_of_the_sample_class(graded_class, capsys):
    """The share of the class's wrong answers (a value came back and failed a comparison) named rightly."""
    wrong = {(student, test_id): t for student, tests in graded_class.items() for test_id, t in tests.items()
             if not t.passed and not t.student_error}
    mistakes = load_catalogue(A01_MISTAKES)
    lines = {m.name: m.line() for fn in mistakes.functions() for m in mistakes.mistakes(fn)}
    named = {key for key, t in wrong.items() if t.message.startswith("Likely mistake: ")}
    right = {key for key in named if key[1] in EXPECTED.get(key[0], {})
             and wrong[key].message.splitlines()[0] == lines[EXPECTED[key[0]][key[1]]]}
    failed = sum(1 for tests in graded_class.values() for t in tests.values() if not t.passed)
    with capsys.disabled():
        print(f"\na01 sample class (the course's secret seed): {failed} failed tests, {len(wrong)} wrong answers "
              "(a value came back); "
              f"{len(named)} diagnosed, {len(right)} rightly: {len(right) / len(wrong):.0%} of the wrong answers")
    assert right == named and len(right) >= 0.8 * len(wrong)


@pytest.mark.slow
def test_a_student_with_no_catalogued_mistake_gets_no_diagnosis():
    tests = grade([UNCATALOGUED], seed=3)
    failed = [t for test_id, t in tests.items() if test_id.startswith(("TestMseGrad", "TestGdStep"))]
    assert failed and all(t.outcome == "failed" and "values are not close" in t.message for t in failed)
    assert diagnoses(tests) == {}
