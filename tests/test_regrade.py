"""Regrades after a suite changes: `grade --stale`, manual grades kept, released points guarded (docs/gradebook.md).

A private copy of the toy course tree stands for a course whose hidden suite is fixed after release: the
instructor edits the suite (which changes its version), grades a few students, enters a manual score and a
comment in the formgrader (here through nbgrader's Gradebook API, as the formgrader does), and regrades.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.cli.parser import build_parser
from autograder.course.assignment import Assignment
from autograder.course.samples import fill_solutions
from autograder.gradebook.batch import stale_results
from autograder.gradebook.course_dir import NbgraderCourse

from .conftest import CORRECT_TOY, TOY_CLASS, TOY_ROOT, submit

FIXED_SUITE = ("x = rng.normal((5,), dtype=torch.float64)", "x = rng.normal((5,), dtype=torch.float32)")


def private_course(tmp_path: Path) -> tuple[Path, NbgraderCourse]:
    root = tmp_path / "tree"
    shutil.copytree(TOY_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    course = NbgraderCourse.create(tmp_path / "course", root)
    course.generate("toy")
    return root, course


def change_suite(root: Path) -> None:
    """The instructor relaxes test_float64 (float32 is fine after all) and bumps the suite's version."""
    suite = root / "assignments" / "toy" / "hidden" / "test_toy.py"
    text = suite.read_text()
    assert FIXED_SUITE[0] in text
    suite.write_text(text.replace(*FIXED_SUITE).replace('SUITE_VERSION = "toy-1"', 'SUITE_VERSION = "toy-2"'))


def give_square_two_points(root: Path) -> None:
    source = root / "assignments" / "source" / "toy" / "toy.ipynb"
    notebook = json.loads(source.read_text())
    cell = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_square")
    cell["metadata"]["nbgrader"]["points"] = 2
    source.write_text(json.dumps(notebook))


def grade(capsys: pytest.CaptureFixture[str], course: NbgraderCourse, *extra: str) -> str:
    code = main(["grade", str(course.root), "toy", "--workers", "1", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return re.sub(r"\s+", " ", out)  # rich wraps long lines


def test_stale_is_an_option_of_grade():
    args = build_parser().parse_args(["grade", "course", "toy", "--stale", "--student", "amy"])
    assert args.stale and args.student == ["amy"]
    assert not build_parser().parse_args(["grade", "course", "toy"]).stale


@pytest.mark.slow
def test_stale_regrades_exactly_the_old_suites_results_and_keeps_manual_grades(tmp_path, capsys):
    root, course = private_course(tmp_path)
    release = course.root / "release" / "toy" / "toy.ipynb"
    for student in ("amy", "cy"):
        submit(course, student, "toy", fill_solutions(release, TOY_CLASS[student]))
    grade(capsys, course)
    old_version = Assignment("toy", root).suite_version()
    assert course.scores("toy")["cy"] == {"test_double": 2.0, "test_square": 0.0}

    # The formgrader's edits: a manual score and extra credit on a grade cell, a comment on a solution cell.
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        cell = gradebook.find_grade("test_double", "toy", "toy", "cy")
        cell.manual_score, cell.extra_credit = 2.5, 0.5
        gradebook.find_comment("double", "toy", "toy", "cy").manual_comment = "float32 is fine here"
        gradebook.db.commit()

    change_suite(root)
    new_version = Assignment("toy", root).suite_version()
    assert new_version.startswith("toy-2+") and old_version.startswith("toy-1+")
    assert stale_results(course, "toy", ["amy", "cy"]) == {"amy": old_version, "cy": old_version}

    # amy alone: the closing lines say cy's result is stale, and how to regrade it.
    out = grade(capsys, course, "--student", "amy")
    assert (f"note: 1 result was graded by an older suite version ({old_version}): autograder grade "
            f"{course.root} toy --stale regrades it") in out
    amy_record = course.root / "grading_results" / "toy" / "amy" / "toy.json"
    amy_stamp = amy_record.stat().st_mtime_ns

    out = grade(capsys, course, "--stale")
    assert (f"1 stale result of toy, graded by an older suite version ({old_version}: cy); regrading it with "
            f"{new_version}") in out
    assert re.search(r"graded 1 submission in [\d.]+ s", out), out
    assert ("note: manual scores from the formgrader stand over the new auto scores, flagged for review there: "
            "cy test_double: 2.5 (auto 3)") in out
    assert "older suite version" not in out.split("regrading it")[1]  # nothing stale is left
    assert amy_record.stat().st_mtime_ns == amy_stamp  # amy was not stale: untouched
    record = json.loads((course.root / "grading_results" / "toy" / "cy" / "toy.json").read_text())
    assert record["suite_version"] == new_version

    with Gradebook(course.api().coursedir.db_url) as gradebook:
        cell = gradebook.find_grade("test_double", "toy", "toy", "cy")
        assert cell.auto_score == 3.0  # the new suite's score
        assert (cell.manual_score, cell.extra_credit) == (2.5, 0.5)  # the instructor's, kept
        assert cell.needs_manual_grade  # nbgrader flags an auto score under a manual one for review
        assert gradebook.find_comment("double", "toy", "toy", "cy").manual_comment == "float32 is fine here"
        assert gradebook.find_grade("test_square", "toy", "toy", "cy").auto_score == 0.0

    out = grade(capsys, course, "--stale")
    assert f"no stale results: every graded submission of toy was graded by the current suite version " \
           f"{new_version}" in out

    # Points changed after release, with graded submissions in the gradebook: refused; the way out described
    # (re-release: nbgrader's generate_assignment --force, which takes the new points) works.
    give_square_two_points(root)
    assert main(["grade", str(course.root), "toy"]) == 2
    assert "test_square 1 -> 2" in capsys.readouterr().out
    course.generate("toy")
    course.check_ready_to_grade("toy")
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        assert gradebook.find_grade_cell("test_square", "toy", "toy").max_score == 2.0
        assert gradebook.find_grade("test_double", "toy", "toy", "cy").manual_score == 2.5


@pytest.mark.slow
def test_changed_points_of_a_released_grade_cell_are_refused_with_the_way_out(tmp_path, capsys):
    root, course = private_course(tmp_path)
    submit(course, "amy", "toy", fill_solutions(course.root / "release" / "toy" / "toy.ipynb", CORRECT_TOY))
    give_square_two_points(root)
    assert main(["grade", str(course.root), "toy"]) == 2
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "the points of released grade cells of toy changed in the source (test_square 1 -> 2)" in out
    assert f"`nbgrader generate_assignment toy --force` in {course.root}" in out
    assert f"`autograder grade {course.root} toy --force`" in out
    assert not (course.root / "grading_results" / "toy" / "amy").exists()  # nothing was graded

