"""The sample class in the author's check: scores as expected under every seed, none moving, no thin margins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.authoring.class_check import (
    CLASS_MATCH,
    CLASS_SKIPPED,
    CLASS_STABLE,
    THIN_MARGINS,
    SampleGrading,
    check_sample_class,
    class_checks,
    draw_seeds,
    match_check,
    stability_check,
    thin_margin_check,
)
from autograder.course.assignment import Assignment
from autograder.grading.results import JobResult
from autograder.grading.results import TestResult as HiddenTest  # (not a pytest class)
from autograder.grading.suite import SecretRandom

from .conftest import TOY_ROOT

CELLS = {"test_double": 3.0, "test_square": 1.0}
FULL = {"total": 4.0, "cells": {"test_double": 3.0, "test_square": 1.0}}
MESSAGE = "square(x: 3.0) -> result: values are not close.\nExpected 9.0, got -9.0\nHint: x * x"


def result_of(test_id: str, cell: str, outcome: str = "passed", message: str = "") -> HiddenTest:
    return HiddenTest(test_id, cell, 1.0, 1.0 if outcome == "passed" else 0.0, outcome, message)


def grading(student: str, seed: int, square: str = "passed", at_margin: list[HiddenTest] | None = None,
            message: str = MESSAGE) -> SampleGrading:
    tests = [result_of(f"TestDouble::test_{name}", "test_double") for name in ("values", "float64", "gradient")]
    tests.append(result_of("test_square", "test_square", square, "" if square == "passed" else message))
    result = JobResult(student, "toy", "toy", "sha", "toy-1", seed, tests=tests, cell_max_points=dict(CELLS))
    return SampleGrading(student, seed, result, at_margin or [])


def rows(checks) -> dict:
    return {check.name: check for check in checks}


def test_a_class_as_expected_under_every_seed_passes_every_row():
    gradings = [grading(student, seed) for student in ("ada", "cy") for seed in (7, 8)]
    checks = rows(class_checks(gradings, {"ada": FULL, "cy": FULL}, [7, 8]))
    assert list(checks) == [CLASS_MATCH, CLASS_STABLE, THIN_MARGINS]
    assert all(check.ok for check in checks.values())
    assert checks[CLASS_MATCH].detail == "2 students x 2 seeds, every cell as expected (seeds 7, 8)"
    assert checks[CLASS_STABLE].detail == "2 students, each the same total under all 2 seeds"


def test_a_cell_off_its_expected_score_names_student_seed_and_whole_messages():
    check = match_check([grading("ada", 7), grading("ada", 8, square="failed")], {"ada": FULL}, [7, 8])
    assert not check.ok
    assert check.detail == (f"ada under seed 8: test_square scored 0 / 1, expected 1\ntest_square failed:\n{MESSAGE}"
                            "\n\n(seeds of this run: 7, 8)")


def test_a_cell_above_its_expected_score_names_the_tests_that_passed():
    expected = {"ben": {"total": 3.0, "cells": {"test_double": 3.0, "test_square": 0.0}}}
    check = match_check([grading("ben", 7)], expected, [7])
    assert check.detail.startswith("ben under seed 7: test_square scored 1 / 1, expected 0\npassed: test_square")


def test_students_missing_on_either_side_are_reported():
    check = match_check([grading("zoe", 7)], {}, [7], problems=["ada: in expected_scores.json but has no ada.py"])
    assert not check.ok
    assert check.detail.splitlines()[:3] == ["ada: in expected_scores.json but has no ada.py", "",
                                             "zoe: graded, but expected_scores.json has no entry for it"]


def test_a_score_that_moves_with_the_seed_lists_each_total_and_its_seeds():
    gradings = [grading("cy", 1), grading("cy", 2, square="failed"), grading("cy", 3), grading("ada", 1)]
    check = stability_check(gradings, [1, 2, 3])
    assert not check.ok
    assert check.detail == "cy: 3 under seed 2; 4 under seeds 1, 3"


def test_a_test_passing_only_at_full_tolerance_is_flagged_with_its_message():
    thin = result_of("TestDouble::test_values", "test_double", "failed", "double(x: float32[4, 3]) -> not close")
    fine = result_of("TestDouble::test_float64", "test_double")
    gradings = [grading("tim", seed, at_margin=[thin, fine]) for seed in (4, 5)]
    gradings.append(grading("ada", 4, at_margin=[fine]))
    check = thin_margin_check(gradings)
    assert not check.ok
    assert check.detail == ("test TestDouble::test_values passes student tim only within half its tolerance under "
                            "seeds 4, 5: a correct solution written differently may fail it\n"
                            "double(x: float32[4, 3]) -> not close")
    assert thin_margin_check([grading("ada", 4, at_margin=[fine])]).detail == (
        "1 passes in full-marks cells also pass at 50% of their tolerances")


def test_seeds_are_drawn_fresh_and_readable():
    seeds = draw_seeds(5)
    assert len(seeds) == 5 and all(0 <= seed < 10**9 for seed in seeds)
    assert draw_seeds(5) != seeds  # 1e-45 odds of a repeat
    with pytest.raises(ValueError):
        draw_seeds(0)


def test_an_assignment_without_a_sample_class_skips_it_with_a_row(tmp_path):
    checks = check_sample_class(Assignment("toy", tmp_path), tmp_path / "toy.ipynb", [1])
    assert [(c.name, c.ok) for c in checks] == [(CLASS_SKIPPED, True)]
    assert checks[0].detail.startswith("skipped: no sample class at ")


# ------------------------------------------------------------------ real kernels

STATED = ('assert_close(student.double(x), reference.double(x), fn="double", inputs={"x": x})',
          'assert_close(student.double(x), reference.double(x), fn="double", inputs={"x": x}, rtol=1e-3, atol=0)')


@pytest.mark.slow
def test_the_class_check_catches_a_seed_dependent_score_and_a_thin_margin(tmp_path, toy_release):
    """cy squares with x * abs(x) (wrong for negative x only); tim's double is 7e-4 off: inside rtol=1e-3 only."""
    root = tmp_path / "course"
    shutil.copytree(TOY_ROOT, root)
    suite = root / "assignments" / "toy" / "hidden" / "test_toy.py"
    text = suite.read_text()
    assert text.count(STATED[0]) == 2  # test_values and test_float64 state rtol=1e-3 now
    suite.write_text(text.replace(*STATED))
    samples = root / "assignments" / "samples" / "toy"
    (samples / "cy.py").write_text("# %% [double]\ndef double(x):\n    return 2 * x\n\n"
                                   "# %% [square]\ndef square(x):\n    return x * abs(x)\n")
    (samples / "tim.py").write_text("# %% [double]\ndef double(x):\n    return 2 * x + (2 * x).detach() * 7e-4\n\n"
                                    "# %% [square]\ndef square(x):\n    return x * x\n")
    expected = json.loads((samples / "expected_scores.json").read_text())
    (samples / "expected_scores.json").write_text(json.dumps({**expected, "cy": FULL, "tim": FULL}))
    negative = {seed for seed in range(1, 40) if SecretRandom(seed, "test_square").integers(-5, 5, ()).item() < 0}
    seeds = [min(negative), min(set(range(1, 40)) - negative), max(negative)]

    checks = rows(check_sample_class(Assignment("toy", root), toy_release, seeds, workers=2))

    assert [name for name, check in checks.items() if not check.ok] == [CLASS_MATCH, CLASS_STABLE, THIN_MARGINS]
    match = checks[CLASS_MATCH].detail
    for seed in (seeds[0], seeds[2]):
        assert f"cy under seed {seed}: test_square scored 0 / 1, expected 1\ntest_square failed:\nsquare(x: " in match
    assert f"cy under seed {seeds[1]}" not in match and "ada" not in match and "ben" not in match
    assert match.endswith(f"(seeds of this run: {', '.join(map(str, seeds))})")
    assert checks[CLASS_STABLE].detail == f"cy: 3 under seeds {seeds[0]}, {seeds[2]}; 4 under seed {seeds[1]}"
    thin = checks[THIN_MARGINS].detail
    assert thin.startswith(f"test TestDouble::test_values passes student tim only within half its tolerance under "
                           f"seeds {', '.join(map(str, seeds))}: a correct solution written differently may fail it\n"
                           "double(x: float32[4, 3]) -> result: values are not close.")
    second = thin.split("\n\n")[1]
    assert second.startswith("test TestDouble::test_float64 passes student tim only within half its tolerance")
    assert thin.count("\n\ntest ") == 1  # those two tests, only that student


@pytest.mark.slow
def test_the_toy_class_gets_its_expected_scores(toy_release):
    checks = check_sample_class(Assignment("toy", TOY_ROOT), toy_release, [3, 4], workers=2)
    assert [(c.name, c.ok) for c in checks] == [(CLASS_MATCH, True), (CLASS_STABLE, True), (THIN_MARGINS, True)]
    assert checks[0].detail == "2 students x 2 seeds, every cell as expected (seeds 3, 4)"


def test_the_toy_course_ships_its_sample_class():
    samples = Path(TOY_ROOT) / "assignments" / "samples" / "toy"
    assert sorted(p.name for p in samples.iterdir()) == ["ada.py", "ben.py", "expected_scores.json"]
