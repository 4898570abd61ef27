"""Feedback pages as the classroom needs them: formulas rendered with no internet, hidden messages held back
before the deadline, late submissions penalised per day from the gradebook's due date (real nbgrader, real
kernels, real Chromium)."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import GetGrades

from autograder.course.samples import fill_solutions
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.gradebook.feedback import HideHiddenTestMessages
from autograder.hub.roster import CourseSettings
from autograder.hub.service.work import sync_deadlines
from autograder.selftest.cases import TOY_ROOT

from .conftest import CORRECT_TOY, submit

pytestmark = pytest.mark.slow  # real nbgrader and real kernels

FORMULAS = ["$$w_{t+1} = w_t - \\eta \\nabla_w L(w_t)$$", "$\\alpha$", "$\\frac{1}{n}\\sum_i (x_i w - y_i)^2$"]
HALF_RIGHT = {"double": "def double(x):\n    return (x + x).float()"}  # loses 1 point of test_double, with a message
# The sample timestamp (2026-11-20 12:00 UTC) is 1.5 days after this due date: 2 days (or parts of one) late.
DUE = datetime.datetime(2026, 11, 19, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, toy_release: Path) -> NbgraderCourse:
    """A toy course: sam's half-right submission with formulas, lia's right one; due date 1.5 days before."""
    course = NbgraderCourse.create(tmp_path_factory.mktemp("feedback") / "course", TOY_ROOT)
    with open(course.root / "nbgrader_config.py", "a") as handle:
        handle.write("c.PerDayLatePenalty.fraction_per_day = 0.25\n")
    course.generate("toy")
    sync_deadlines(course, CourseSettings(id="dl-course", course_root=TOY_ROOT, deadlines={"toy": DUE}))
    notebook = fill_solutions(toy_release, HALF_RIGHT)
    notebook.cells.insert(0, new_markdown_cell("Gradient descent: " + " and ".join(FORMULAS)))
    submit(course, "sam", "toy", notebook)
    submit(course, "lia", "toy", fill_solutions(toy_release, CORRECT_TOY))
    for student in ("sam", "lia"):
        course.autograde("toy", student)
    return course


def rendered_dom(page: Path) -> str:
    """The page after its scripts ran in headless Chromium, with every host name unresolvable (no network)."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run `make setup`"
    run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_feedback_formulas_render_with_no_internet(graded: NbgraderCourse) -> None:
    page = graded.feedback("toy", "sam") / "toy.html"
    html = page.read_text()
    remote_scripts = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^\"' >]*", html, re.I)
    remote_styles = re.findall(r"<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^\"' >]*", html, re.I)
    assert remote_scripts == [] and remote_styles == []
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in html  # nbconvert's default MathJax link is gone
    dom = rendered_dom(page)
    containers = re.findall(r"<mjx-container[^>]*jax=\"SVG\"", dom)
    print(f"\nfeedback page: {page.stat().st_size / 2**20:.1f} MiB, {len(containers)} formulas typeset by MathJax "
          "offline")
    assert len(containers) == len(FORMULAS)
    assert "\\nabla_w" not in re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # no formula left as TeX source


def test_feedback_before_the_deadline_shows_test_names_and_points_not_messages(graded: NbgraderCourse) -> None:
    full = (graded.feedback("toy", "sam") / "toy.html").read_text()
    hidden = graded.api(GenerateFeedback={"preprocessors": [GetGrades, CSSHTMLHeaderPreprocessor,
                                                            HideHiddenTestMessages]}).generate_feedback(
        "toy", "sam", force=True)
    assert hidden["success"], hidden["log"]
    redacted = (graded.root / "feedback" / "sam" / "toy" / "toy.html").read_text()
    assert "double(x: float64[5])" in full and "double(x: float64[5])" not in redacted
    assert "Hidden tests for test_double: 2 / 3 points" in redacted
    assert re.search(r"\[FAIL\] \S+ \(0/1\)\s+1 points lost \(the message is shown after the deadline\)", redacted)


def test_late_submissions_lose_the_course_fraction_per_day(graded: NbgraderCourse) -> None:
    with Gradebook(graded.api().coursedir.db_url) as gradebook:
        assert gradebook.find_assignment("toy").duedate == DUE.replace(tzinfo=None)
        lia = gradebook.find_submission("toy", "lia")
        sam = gradebook.find_submission("toy", "sam")
        late = {s.student.id: (s.total_seconds_late, s.score, s.late_submission_penalty) for s in (lia, sam)}
    print(f"\nlate (seconds late, score, penalty nbgrader subtracts): {late}")
    # 1.5 days late counts 2 days: 2 x 0.25 x 4 points = 2 points (sam: all of his 2, nbgrader's cap).
    assert late == {"lia": (129600.0, 4.0, 2.0), "sam": (129600.0, 2.0, 2.0)}
    nbformat.validate(nbformat.read(graded.root / "autograded" / "lia" / "toy" / "toy.ipynb", as_version=4))
