"""Assignment a02 end to end: its data, the catalogue, the author's check, and the sample class graded through
nbgrader to exactly the expected scores, with the feedback of each kind of slip and the mistakes it names."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from autograder.authoring import check_assignment
from autograder.course.assignment import Assignment, read_notebook
from autograder.grading.suite import SecretRandom
from autograder.testing import load_catalogue

from .sample_class import (
    assert_correct_students_pass,
    assert_expected_scores,
    class_results,
    failure_message,
    grade_sample_class,
)

REPO = Path(__file__).resolve().parents[1]
A02 = Assignment("a02_tabular_regression", REPO)
CORRECT = ("ana", "ben", "cleo")  # right in three styles: full marks, threshold tests included
# The mistake each wrong answer of the class must name (a test id's end -> the start of the diagnosis).
DIAGNOSES = {
    "eve": {"TestZscore": "your standard deviation is the population one"},
    "finn": {"TestMakeDummies": "your dummy columns are bool"},
    "gina": {"TestZscore": "your mean and std keep the reduced dimension",
             "TestMakeDummies": "you made a column for every level"},
    "nora": {"TestMakeDummies": "your frame holds only the dummy columns"},
    "oscar": {"TestZscore": "you normalized along dim 0 whatever dim"},
}


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference():
    return load_module("a02_reference", A02.reference_path)


@pytest.fixture(scope="module")
def suite():
    return load_module("a02_suite", A02.suite_dir / f"test_{A02.id}.py")


# ----------------------------------------------------------------------------------------------- data

def test_data_files_match_the_checksums_written_where_they_are_read(reference):
    build = (REPO / "data" / "auto_mpg" / "build.py").read_text()
    notebook = A02.source_notebook.read_text()
    for path, sha256 in ((reference.TRAIN_CSV, reference.TRAIN_SHA256), (reference.TEST_CSV, reference.TEST_SHA256)):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, path
        assert sha256 in build
    assert reference.TRAIN_SHA256 in notebook and reference.TEST_SHA256 not in notebook
    # The hidden cars are not under data/ (mounted in every kernel), and no car is in both files.
    train, test = pd.read_csv(reference.TRAIN_CSV), pd.read_csv(reference.TEST_CSV)
    assert (len(train), len(test)) == (294, 98) and not test.isna().any().any()
    assert "test.csv" not in [p.name for p in (REPO / "data").rglob("*")]
    assert A02.required_data() == ["auto_mpg/train.csv"]


def test_reference_make_dummies_is_pandas_get_dummies(reference):
    g = np.random.default_rng(0)
    df = pd.DataFrame({"body": g.choice(["sedan", "coupe", "wagon"], 30), "weight": g.uniform(1, 2, 30),
                       "fuel": pd.Categorical(g.choice(["gas", "diesel"], 30), categories=["hybrid", "gas", "diesel"]),
                       "year": g.integers(70, 83, 30), "cyl": g.choice([4, 6, 8], 30)})
    for columns in (["body"], ["fuel"], ["cyl", "body"], ["body", "fuel", "cyl"]):
        for drop_first in (True, False):
            want = pd.get_dummies(df, columns=columns, drop_first=drop_first, dtype="float32")
            pd.testing.assert_frame_equal(reference.make_dummies(df, columns, drop_first), want)


def test_reference_zscore_edge_cases(reference):
    t = torch.tensor([[2.0, 7.0], [4.0, 7.0], [9.0, 7.0]])
    normalized, mean, std = reference.zscore(t)
    assert torch.equal(std[1], torch.tensor(0.0)) and torch.equal(normalized[:, 1], torch.zeros(3))
    assert torch.allclose(std[0], torch.tensor(13.0).sqrt())
    normalized, mean, std = reference.zscore(t.double(), 1)
    assert normalized.dtype == torch.float64 and mean.shape == (3,)
    assert reference.zscore(torch.tensor([1.0, 2.0, 4.0]))[1].shape == ()


def test_every_mistake_differs_from_the_reference_and_from_the_others(reference):
    catalogue = load_catalogue(A02.suite_dir / "mistakes.py")
    frame_view = load_module("a02_mistakes", A02.suite_dir / "mistakes.py").frame_view
    headings = {line.lstrip("#").strip() for cell in read_notebook(A02.source_notebook).cells
                if cell.cell_type == "markdown" for line in cell.source.splitlines() if line.startswith("#")}
    assert catalogue.sections() <= headings

    def fingerprint(value):
        return repr([(tuple(v.shape), v.double().round(decimals=5).tolist()) for v in value])

    t = torch.randn(7, 4, generator=torch.Generator().manual_seed(0)) * 10 + 3
    t[2] = 5.0  # a constant row, normalized along dim 1
    answers = [fingerprint(reference.zscore(t, 1))]
    answers += [fingerprint(mistake.compute(t, 1)) for mistake in catalogue.mistakes("zscore")]
    assert len(set(answers)) == len(answers) == 8

    def described(view):
        return repr((view[0], [(v.dtype.str, v.tolist()) for v in view[1]]))

    levels = pd.Categorical(["b", "a", "b", "a"], categories=["c", "b", "a"])  # c unused, not sorted
    df = pd.DataFrame({"w": [1.0, 2.0, 3.0, 4.0], "o": levels})
    answers = [described(frame_view(reference.make_dummies(df, ["o"], True)))]
    answers += [described(mistake.compute(df, ["o"], True)) for mistake in catalogue.mistakes("make_dummies")]
    assert len(set(answers)) == len(answers) == 9


# ----------------------------------------------------------------------------------------------- margins

def measure_margins(reference, suite, seeds, variants):
    """R² of the reference and of each variant (name -> train_price_model) in the two threshold tests.

    Each seed draws the tests' secret training subset, order and secret price exactly as the suite does;
    returns {test: {name: [R² per seed]}}. The suite's docstring quotes a run over 40 seeds with honest and
    wrong variants.
    """
    class Side:
        def __init__(self, train):
            self.train_price_model, self.keep = train, self

        def __getattr__(self, name):
            return getattr(reference, name)

    tests = {"hidden": "TestHiddenCars::test_predicts_hidden_cars",
             "secret": "TestSecretPrices::test_learns_secret_prices"}
    results = {test: {name: [] for name in ["reference", *variants]} for test in tests}
    for seed in seeds:
        for test, test_id in tests.items():
            for name, train in [("reference", reference.train_price_model), *variants.items()]:
                rng = SecretRandom(seed, test_id)
                side = Side(train)
                frame = suite.training_subset(side, rng)
                hidden, cost = suite.hidden_cars(side, rng)
                if test == "secret":
                    y_train, cost = suite.secret_prices(reference, rng, frame, hidden)
                    frame = frame.assign(fuel_cost=y_train.numpy())
                results[test][name].append(suite.r_squared(train(frame)(hidden).double(), cost))
    return results


def closed_form(reference, *, columns=None, dollars=True):
    """A least-squares fit of the standardized target: the best a linear neuron can do (optionally wrong)."""
    def train(df):
        def inputs(frame):
            X = reference.features(frame).double()
            return X if columns is None else X[:, columns]

        X, y = inputs(df), torch.tensor(df["fuel_cost"].to_numpy(dtype="float64"))
        mean, std, y_mean, y_std = X.mean(0), X.std(0), y.mean(), y.std()
        A = torch.cat([(X - mean) / std, torch.ones(len(X), 1, dtype=torch.float64)], dim=1)
        solution = torch.linalg.lstsq(A, ((y - y_mean) / y_std).unsqueeze(1)).solution[:, 0]

        def predict(frame):
            normalized = ((inputs(frame) - mean) / std) @ solution[:-1] + solution[-1]
            return (normalized * y_std + y_mean if dollars else normalized).float()

        return predict
    return train


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the suite's marks, outside the grader
def test_thresholds_credit_a_closed_form_fit_and_refuse_standardized_predictions(reference, suite):
    variants = {"closed form": closed_form(reference), "two columns": closed_form(reference, columns=[3, 5]),
                "standardized": closed_form(reference, dollars=False)}
    results = measure_margins(reference, suite, range(3), variants)
    for test, margin in (("hidden", suite.HIDDEN_MARGIN), ("secret", suite.SECRET_MARGIN)):
        want = results[test]["reference"]
        assert min(want) > 0.8, want
        # An honest fit lands within a fifth of the half margin of the reference's R².
        assert all(abs(a - b) < margin / 10 for a, b in zip(results[test]["closed form"], want, strict=True))
        assert all(a < b - 3 * margin for a, b in zip(results[test]["standardized"], want, strict=True))
    # The lecture's two columns are near enough on the real costs, but miss the secret price.
    assert all(a < b - suite.SECRET_MARGIN for a, b in
               zip(results["secret"]["two columns"], results["secret"]["reference"], strict=True))


# ----------------------------------------------------------------------------------------------- the author's check

@pytest.mark.slow
def test_course_author_check_passes():
    """Every row but the sample class's (graded below through nbgrader), under 1 secret seed."""
    checks = check_assignment(A02, seeds=1, sample_class=False)
    assert [c.name for c in checks if not c.ok] == [], [c.detail for c in checks if not c.ok]


# ----------------------------------------------------------------------------------------------- the sample class

@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A02)



@pytest.mark.slow
def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A02)


@pytest.mark.slow
def test_threshold_tests_credit_any_correct_model(demo_course):
    assert_correct_students_pass(demo_course, A02, CORRECT)


@pytest.mark.slow
def test_the_lookup_model_scores_at_chance(demo_course):
    """leo predicts from whatever labelled cars he can read in the sandbox: only the public ones are there."""
    graded = class_results(demo_course, A02)
    threshold_tests = [t for t in graded["leo"].tests
                       if "TestHiddenCars" in t.test_id or "TestSecretPrices" in t.test_id]
    assert len(threshold_tests) == 2 and not any(t.passed for t in threshold_tests)
    for test in threshold_tests:
        # Its search of the disk runs in every call: on a loaded machine a call can run out of time instead,
        # which earns nothing either.
        if "did not return within" in test.message:
            continue
        got = float(re.search(r"got (-?[0-9.e+-]+)", test.message).group(1))
        assert got < 0.2, test.message



@pytest.mark.slow
def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A02)
    # A constant column divided by its std of 0: the nan is named, with the fix.
    assert "nan or inf" in failure_message(graded, "finn", "test_constant_column")
    # Predictions left standardized: the dollars test says so, and the R² is compared with the reference's.
    hugo = failure_message(graded, "hugo", "test_predictions_in_dollars")
    assert "back into dollars" in hugo and "average" in hugo
    assert "R²" in failure_message(graded, "hugo", "test_predicts_hidden_cars")
    # A frame changed in place: the engine refuses the call in every make_dummies test, naming the argument.
    assert "make_dummies changed its argument `df` in place" in failure_message(graded, "ivy", "test_one_column")
    # The endless training loop runs into the per-call budget; grading goes on.
    assert "did not return within" in failure_message(graded, "kim", "test_predicts_hidden_cars")
    # The crash: the student's traceback.
    assert "TypeError" in failure_message(graded, "jack", "test_columns_float32")
    # The stubs.
    assert "NotImplementedError" in failure_message(graded, "dan", "test_one_column")


@pytest.mark.slow
def test_wrong_answers_name_the_catalogued_mistake(demo_course):
    """Each wrong value a catalogued mistake explains names that mistake, and only that one."""
    graded = class_results(demo_course, A02)
    named = wrong = 0
    for student, by_class in DIAGNOSES.items():
        for test in graded[student].tests:
            cls = test.test_id.split("::")[-2] if "::" in test.test_id else ""
            if test.passed or cls not in by_class:
                continue
            wrong += 1
            first = test.message.split("\n", 1)[0]
            assert first.startswith("Likely mistake: " + by_class[cls]), (student, test.test_id, test.message)
            named += 1
    print(f"catalogued wrong answers named: {named} / {wrong}")
    assert named == wrong > 0


def test_hidden_test_labels_never_enter_the_kernel():
    """The threshold tests send the hidden cars without their costs: the targets stay in the suite."""
    source = (A02.suite_dir / f"test_{A02.id}.py").read_text()
    assert "frame.drop(columns=[TARGET])" in source
    calls = re.findall(r"student\.keep\.train_price_model\((\w+)\)\((\w+)\)", source)
    assert sorted(set(calls)) == [("train", "hidden"), ("train", "sample")], calls
    assert 'train = train.assign(**{TARGET: y_train.numpy()})' in source  # a training target, public by design
    for line in source.splitlines():
        if "student." in line:
            assert "y_hidden" not in line.split("student.")[1].split(")")[0], line
