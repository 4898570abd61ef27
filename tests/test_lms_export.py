"""`autograder export --canvas`: a small toy course graded by real nbgrader in the sandbox, late penalties on,
exported in the layout Canvas documents for its gradebook import (docs/gradebook.md)."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.course.samples import fill_solutions
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.gradebook.lms import final_grades
from autograder.hub.roster import CourseSettings
from autograder.hub.service.work import sync_deadlines
from autograder.selftest.cases import TOY_ROOT

from .conftest import CORRECT_TOY, submit

pytestmark = pytest.mark.slow  # real nbgrader and real kernels

# The sample timestamp (2026-11-20 12:00 UTC) is 1.5 days after this due date: 2 days (or parts of one) late.
DUE = datetime.datetime(2026, 11, 19, 0, 0, tzinfo=datetime.UTC)
HALF_RIGHT = {"double": CORRECT_TOY["double"]}  # test_double only: 3 of 4 points


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> NbgraderCourse:
    """lia (4/4) and sam (3/4) graded 1.5 days late at 0.25 of the points per day; rae in the roster, no submission."""
    course = NbgraderCourse.create(tmp_path_factory.mktemp("lms") / "course", TOY_ROOT)
    with open(course.root / "nbgrader_config.py", "a") as handle:
        handle.write("c.PerDayLatePenalty.fraction_per_day = 0.25\n")
    release = course.generate("toy") / "toy.ipynb"
    sync_deadlines(course, CourseSettings(id="dl-course", course_root=TOY_ROOT, deadlines={"toy": DUE}))
    submit(course, "lia", "toy", fill_solutions(release, CORRECT_TOY))
    submit(course, "sam", "toy", fill_solutions(release, HALF_RIGHT))
    for student in ("lia", "sam"):
        course.autograde("toy", student)
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        gradebook.update_or_create_student("lia", first_name="Lia", last_name="Ng", lms_user_id="8812")
        gradebook.update_or_create_student("rae")
    return course


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_csv_has_the_documented_layout_and_penalised_scores(graded: NbgraderCourse, tmp_path: Path) -> None:
    out = tmp_path / "canvas.csv"
    assert main(["export", str(graded.root), "--canvas", str(out), "--canvas-id", "toy=4321"]) == 0
    rows = read_rows(out)
    print("\n" + out.read_text())
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "toy (4321)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "4"]
    # 2 days late x 0.25 x 4 points = 2 points off, as nbgrader itself subtracted when it graded
    assert rows[2:] == [["Ng, Lia", "8812", "", "lia", "", "2"],
                        ["rae", "", "", "rae", "", ""],
                        ["sam", "", "", "sam", "", "1"]]
    with Gradebook(graded.api().coursedir.db_url) as gradebook:
        recorded = {s.student.id: s.score - s.late_submission_penalty for s in gradebook.assignment_submissions("toy")}
    assert recorded == {"lia": 2.0, "sam": 1.0}
    assert final_grades(graded).notes == []  # the configured penalty is the one nbgrader recorded


def test_nbgraders_own_export_is_unchanged(graded: NbgraderCourse, tmp_path: Path) -> None:
    rows = {row["student_id"]: row for row in csv.DictReader(open(graded.export_csv(tmp_path / "nbgrader.csv")))}
    assert (rows["sam"]["raw_score"], rows["sam"]["late_submission_penalty"], rows["sam"]["score"]) == \
        ("3.0", "2.0", "1.0")


def test_a_deadline_moved_after_grading_reaches_the_lms_and_says_so(graded: NbgraderCourse, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    later = DUE + datetime.timedelta(days=1)  # 0.5 days late now: 1 day, 1 point
    sync_deadlines(graded, CourseSettings(id="dl-course", course_root=TOY_ROOT, deadlines={"toy": later}))
    try:
        out = tmp_path / "canvas.csv"
        assert main(["export", str(graded.root), "--canvas", str(out), "--missing-zero", "--section", "A"]) == 0
        printed = " ".join(capsys.readouterr().out.split())
        assert [row[3:] for row in read_rows(out)[2:]] == [["lia", "A", "3"], ["rae", "A", "0"], ["sam", "A", "2"]]
        assert read_rows(out)[0][-1] == "toy"  # no Canvas id: a new column
        assert "sam toy: late penalty 1 (submitted 0.50 days late, 0.25 of the points per day) where nbgrader " \
               "recorded 2 when it graded" in printed
    finally:
        sync_deadlines(graded, CourseSettings(id="dl-course", course_root=TOY_ROOT, deadlines={"toy": DUE}))


def test_bad_export_arguments_are_clear(graded: NbgraderCourse, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.csv")
    assert main(["export", str(graded.root), "--canvas", out, "--canvas-id", "toy"]) == 2
    assert "give ASSIGNMENT=ID" in capsys.readouterr().out
    assert main(["export", str(graded.root), "--canvas", out, "--assignment", "a99"]) == 2
    assert "a99: not in the gradebook" in " ".join(capsys.readouterr().out.split())
    assert main(["export", str(tmp_path), "--canvas", out]) == 2
    assert "is not an nbgrader course" in capsys.readouterr().out
