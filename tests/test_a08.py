"""Assignment a08 end to end: its reference, the suite's stated bounds, the catalogue, the author's check, and the
sample class graded."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import math
import re
from pathlib import Path

import pytest
import torch
from scipy import stats

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
A08 = Assignment("a08_confidence_intervals", REPO)
SUITE = A08.suite_dir / f"test_{A08.id}.py"
PUBLIC = REPO / "data" / "mnist_5k" / "mnist_public.npz"
CORRECT = ("ana", "ben")  # right in two styles other than the notebook's: full marks, the coverage test included


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_reference():
    return load(A08.reference_path, "a08_reference")


def load_suite():
    return load(SUITE, "a08_suite")


# ----------------------------------------------------------------------------------------------- data

def test_the_notebook_reads_the_course_digits_and_the_suite_sends_no_file():
    notebook = "\n".join("".join(cell["source"]) for cell in json.loads(A08.source_notebook.read_text())["cells"])
    (digest,) = re.findall(r'PUBLIC_SHA256 = "([0-9a-f]{64})"', notebook)
    assert hashlib.sha256(PUBLIC.read_bytes()).hexdigest() == digest
    assert A08.required_data() == ["mnist_5k/mnist_public.npz"]
    assert not (A08.suite_dir / "data").exists()


def test_hidden_test_labels_never_enter_the_kernel():
    """The coverage test sends the test probabilities only: the labels it scores with stay in the suite (rule 5)."""
    source = SUITE.read_text()
    for line in source.splitlines():
        if "student." in line:
            assert "test_labels" not in line, line
    assert "mask = student.conformal_sets(cal_probs, cal_labels, test_probs, alpha)" in source


# ----------------------------------------------------------------------------------------------- reference

def test_reference_normal_interval_by_hand_and_against_scipy():
    reference = load_reference()
    low, high = reference.normal_approx_ci(0.9, 100)
    assert abs(low - 0.841201) < 1e-6 and abs(high - 0.958799) < 1e-6
    for accuracy, n, confidence in ((0.75, 40, 0.8), (0.98, 50, 0.95), (0.5, 1, 0.99)):
        z = stats.norm.ppf((1 + confidence) / 2)
        half = z * math.sqrt(accuracy * (1 - accuracy) / n)
        assert_close(reference.normal_approx_ci(accuracy, n, confidence), (accuracy - half, accuracy + half),
                     fn="normal_approx_ci", rtol=1e-12, atol=1e-12)
    assert reference.normal_approx_ci(0.98, 50)[1] > 1  # not clipped
    assert reference.normal_approx_ci(torch.tensor(1.0), 7) == (1.0, 1.0)


def test_reference_bootstrap_is_reproducible_and_exact_where_it_cannot_vary():
    reference = load_reference()
    generator = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 10, (300,), generator=generator)
    y_pred = torch.where(torch.rand(300, generator=generator) < 0.85, y_true, (y_true + 1) % 10)
    first = reference.bootstrap_ci(y_true, y_pred, 3000, 0.9, 5)
    assert first == reference.bootstrap_ci(y_true, y_pred, 3000, 0.9, 5)
    assert first != reference.bootstrap_ci(y_true, y_pred, 3000, 0.9, 6)
    accuracy = float((y_true == y_pred).double().mean())
    assert first[0] < accuracy < first[1]
    assert reference.bootstrap_ci(y_true, y_true) == (1.0, 1.0)
    assert reference.bootstrap_ci(y_true, (y_true + 1) % 10) == (0.0, 0.0)
    low, high = reference.bootstrap_ci(y_true, y_pred, 1, 0.9, 2)
    assert low == high and abs(low * 300 - round(low * 300)) < 1e-9


def test_reference_bootstrap_cdf_is_the_binomial():
    reference = load_reference()
    for n_right, n in ((0, 5), (5, 5), (1, 1), (612, 700), (37, 90)):
        want = torch.tensor(stats.binom.cdf(range(n + 1), n, n_right / n), dtype=torch.float64)
        assert_close(reference.bootstrap_cdf(n_right, n), want, fn="bootstrap_cdf", rtol=1e-9, atol=1e-12)


def test_reference_conformal_sets_on_the_notebooks_worked_example():
    reference = load_reference()
    true_probs = torch.tensor([0.95, 0.9, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.1], dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    probs = torch.zeros(9, 3, dtype=torch.float64)
    probs[torch.arange(9), labels] = true_probs
    probs[torch.arange(9), (labels + 1) % 3] = 1 - true_probs
    new = torch.tensor([[0.6, 0.3, 0.1]], dtype=torch.float64)
    assert reference.conformal_sets(probs, labels, new, alpha=0.2).tolist() == [[True, True, False]]
    assert reference.conformal_sets(probs, labels, new, alpha=0.05).all()  # k = 10 > n = 9
    assert reference.conformal_sets(probs.float(), labels, new.float(), alpha=0.2).dtype == torch.bool


# ----------------------------------------------------------------------------------------------- stated bounds

def test_the_coverage_bound_stated_in_the_suite():
    """The suite's docstring: below 1 - alpha - 0.03 with probability 2.7e-16 (1.8e-5 at half the margin)."""
    suite = load_suite()
    n = m = suite.COVERAGE_ROWS
    worst = {}
    for margin in (suite.COVERAGE_MARGIN, suite.COVERAGE_MARGIN / 2):
        alpha = 0.15  # the largest alpha the test draws: the widest spread of the coverage
        k = math.ceil((n + 1) * (1 - alpha))
        worst[margin] = stats.betabinom.cdf(math.ceil(m * (1 - alpha - margin)) - 1, m, k, n + 1 - k)
    assert worst[suite.COVERAGE_MARGIN] < 3e-16 and worst[suite.COVERAGE_MARGIN / 2] < 2e-5


def test_the_bootstrap_slack_stated_in_the_suite():
    """delta at half its size keeps every correct percentile within it, all calls together, with p >= 1 - 1e-6."""
    suite = load_suite()
    assert (round(suite.percentile_slack(0.1), 4), round(suite.percentile_slack(0.15), 4)) == (0.0265, 0.0309)
    for q in (0.1, 0.15):
        half = suite.percentile_slack(q) / 2
        level = q + half
        bound = 4 * suite.BOOTSTRAP_CALLS * suite.bernstein_bound(half - 1 / suite.BOOTSTRAP_ROUNDS,
                                                                 level * (1 - level), suite.BOOTSTRAP_ROUNDS)
        assert bound <= 1e-6


def test_the_percentile_check_passes_correct_conventions_and_fails_the_one_sided_slip():
    """Bootstrap accuracies drawn exactly (Binomial(n, r / n) / n), placed by the suite's own check."""
    suite, reference = load_suite(), load_reference()
    generator = torch.Generator().manual_seed(11)
    for n, n_right in ((600, 420), (900, 846), (750, 600)):
        cdf = reference.bootstrap_cdf(n_right, n)
        draws = torch.distributions.Binomial(n, torch.tensor(n_right / n, dtype=torch.float64))
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=generator)))
        accuracies = torch.sort(draws.sample((suite.BOOTSTRAP_ROUNDS,)) / n).values
        for confidence in (0.8, 0.7):
            q = (1 - confidence) / 2
            delta = suite.percentile_slack(q) / 2  # the author check's half tolerance
            for level in (q, 1 - q):
                for value in (torch.quantile(accuracies, level).item(),  # interpolated
                              accuracies[max(math.ceil(level * len(accuracies)) - 1, 0)].item(),  # nearest rank
                              accuracies[int(level * len(accuracies))].item()):  # 0-based floor
                    at_or_below, below = suite.place(cdf, n, value)
                    assert at_or_below >= level - delta and below <= level + delta, (n, level, value)
            slipped = torch.quantile(accuracies, 1 - confidence).item()  # the (1 - c) percentile
            at_or_below, below = suite.place(cdf, n, slipped)
            assert below > q + 2 * delta, (n, confidence, below)


# ----------------------------------------------------------------------------------------------- catalogue

def notebook_sections(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return {line.lstrip("#").strip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")}


def catalogue_inputs(rng: SecretRandom) -> dict[str, list[tuple]]:
    suite = load_suite()
    cal_probs, cal_labels, test_probs, alpha = suite.conformal_case(rng, (40, 200), (10, 30), torch.float32)
    small_probs, _ = suite.quantized_probs(rng, 10, 4, 2.0, torch.float64)
    small_probs[5:] = 0.0
    small_probs[5:, 0] = 1.0
    return {
        "normal_approx_ci": [(0.83, 120, 0.9), (0.97, 40, 0.8), (0.7, 500, 0.99)],
        "conformal_sets": [(cal_probs, cal_labels, test_probs, alpha),
                           (small_probs[:5], torch.tensor([0, 1, 2, 3, 1]), small_probs[5:], 0.1)],
    }


def test_the_catalogue_points_to_sections_of_the_notebook():
    mistakes = load_catalogue(A08.suite_dir / "mistakes.py")
    assert mistakes.sections() <= notebook_sections(A08.source_notebook)
    assert set(mistakes.functions()) == {"normal_approx_ci", "conformal_sets"}


def answers(compute, cases):
    """A mistake's answers on the cases; None where it raises (a mistake that raises is never named)."""
    found = []
    for args in cases:
        try:
            found.append(compute(*args))
        except RuntimeError:
            found.append(None)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_mistake_differs_from_the_reference_and_from_each_other(seed):
    mistakes, reference = load_catalogue(A08.suite_dir / "mistakes.py"), load_reference()
    for fn, cases in catalogue_inputs(SecretRandom(seed, "a08 catalogue")).items():
        values = {m.name: answers(m.compute, cases) for m in mistakes.mistakes(fn)}
        want = [getattr(reference, fn)(*args) for args in cases]
        for name, value in values.items():
            with pytest.raises((ComparisonError, TypeError)):
                assert_close(value, want, fn=f"{fn}: {name}", check_dtype=False)
        for (first, one), (second, other) in itertools.combinations(values.items(), 2):
            with pytest.raises((ComparisonError, TypeError)):
                assert_close(one, other, fn=f"{fn}: {first} against {second}", check_dtype=False)


# ----------------------------------------------------------------------------------------------- graded

@pytest.mark.slow
def test_course_author_check_passes():
    """Every row but the class's (graded through nbgrader below), under one secret seed (kept short: the
    release check, `autograder check a08_confidence_intervals --seeds 10`, runs ten and the class)."""
    checks = check_assignment(A08, seeds=1, sample_class=False)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]


@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A08)


@pytest.mark.slow
def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A08)


@pytest.mark.slow
def test_correct_students_pass_every_test(demo_course):
    assert_correct_students_pass(demo_course, A08, CORRECT)


NORMAL = ("test_values", "test_tensor_accuracy", "test_not_clipped")
EXACT = ("test_matches_the_reference", "test_float64_small_calibration_sets", "test_tied_scores")

# Each wrong answer of the class (a value came back and failed a comparison) that a catalogued mistake gives,
# with the words of the diagnosis it must carry; a failed comparison not listed must carry none.
DIAGNOSED = {
    "cleo": {f"TestNormalApproxCi::{t}": "one-sided quantile" for t in NORMAL},
    "eve": {"TestNormalApproxCi::test_not_clipped": "clipped to [0, 1]"},
    "finn": {f"TestConformalSets::{t}": "finite-sample correction is missing" for t in EXACT},
    "gus": {f"TestConformalSets::{t}": "score is the probability of the true class" for t in EXACT},
    "hana": {f"TestConformalSets::{t}": "strictly below q_hat" for t in EXACT},
    "lena": {"TestNormalApproxCi::test_values": "z = 1.96 whatever the confidence",
             **{f"TestConformalSets::{t}": "(k + 1)-th smallest score" for t in EXACT}},
    "ivan": {f"TestBootstrapCi::{t}": "percentiles are (1 - confidence) / 2" for t in
             ("test_percentiles_of_class_labels", "test_percentiles_of_float_labels")},
}


@pytest.mark.slow
def test_wrong_answers_name_their_mistake(demo_course, capsys):
    wrong, named = assert_diagnoses(class_results(demo_course, A08), DIAGNOSED)
    with capsys.disabled():
        print(f"\na08 sample class: {wrong} wrong answers (a value came back and failed), {named} named rightly")


@pytest.mark.slow
def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A08)

    def message(student: str, test_name: str) -> str:
        return failure_message(graded, student, test_name)

    # The bootstrap's percentiles are placed in the exact bootstrap distribution, and the message says where.
    ivan = message("ivan", "test_percentiles_of_class_labels")
    assert "of the bootstrap accuracies lie below it" in ivan and "expected the 10.0% point" in ivan
    jade = message("jade", "test_percentiles_of_float_labels")
    assert "lower bound" in jade and "Hint:" in jade
    nora = message("nora", "test_same_seed_same_interval")
    assert "the second call's (lower, upper), against the first's" in nora and "seed" in nora
    # Sets that hold every class cover everything: the set size says what differed.
    for student in ("mo", "gus"):
        assert "mean set size on the 20000 secret test rows" in message(student, "test_coverage_on_a_hidden_split")
    # k > n: torch.quantile's error reaches the student as their own traceback.
    assert "RuntimeError" in message("lena", "test_too_few_calibration_examples")
    # The stubs.
    assert "NotImplementedError" in message("dan", "test_coverage_on_a_hidden_split")
    assert "NotImplementedError" in message("kai", "test_matches_the_reference")
