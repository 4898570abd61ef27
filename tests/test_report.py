"""`autograder report`: the instructors' HTML report with its plots, on a01's sample class graded once by real
nbgrader in the sandbox (the session's `a01_class_course`, copied so its gradebook can be changed here).

The copy gets a due date that three students missed, a late penalty, and one planted record of a student whose
id, test message and sandbox events are hostile HTML. The page is rendered in headless Chromium.
"""

from __future__ import annotations

import datetime
import html
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.course.assignment import Assignment
from autograder.course.samples import expected_scores
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.reports.course_report import event_kind, gather, short_test_id
from autograder.reports.plots import slug

from .browser import Browser, browser_available
from .sample_class import REPO, class_results
from .test_mistakes import EXPECTED

pytestmark = pytest.mark.slow  # the sample class is graded by real nbgrader and real kernels (once per session)

A01 = Assignment("a01_gradient_descent", REPO)
ID = A01.id
DUE = datetime.datetime(2026, 11, 19, 0, 0)  # naive UTC, as nbgrader keeps it
ON_TIME = datetime.datetime(2026, 11, 18, 12, 0)
LATE = {"alice": datetime.datetime(2026, 11, 20, 12, 0), "bob": datetime.datetime(2026, 11, 19, 6, 0),
        "carol": datetime.datetime(2026, 11, 19, 0, 1)}  # 1.5, 0.25 and 0.0007 days late: 2, 1 and 1 days of penalty
PER_DAY = 0.25
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_TEXT = "<script>alert('x')</script> $\\frac{1}{0}$ & \x1b[31m"


@pytest.fixture(scope="module")
def course(a01_class_course: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a01's graded class copied, with a due date, a penalty per day late, three late students and a planted
    hostile record (a student the gradebook does not know)."""
    root = tmp_path_factory.mktemp("report") / "course"
    shutil.copytree(a01_class_course, root, symlinks=True, ignore=shutil.ignore_patterns("reports", "feedback"))
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write(f"c.PerDayLatePenalty.fraction_per_day = {PER_DAY}\n")
    with Gradebook(NbgraderCourse(root).api().coursedir.db_url) as gradebook:
        gradebook.update_or_create_assignment(ID, duedate=DUE)
        for submission in gradebook.assignment_submissions(ID):
            submission.timestamp = LATE.get(submission.student.id, ON_TIME)
        gradebook.db.commit()
    records = root / "grading_results" / ID
    record = json.loads((records / "bob" / f"{ID}.json").read_text())
    record["student"] = HOSTILE
    record["tests"][0].update(outcome="failed", points=0.0, message=f"Likely mistake: {HOSTILE_TEXT}\n{HOSTILE}")
    record["sandbox_events"] = [f"cell 2: time limit of 5 s reached {HOSTILE_TEXT}",
                                "cell 3: output truncated at 1 bytes",
                                "cell 3: killed: memory limit of 2048 MiB exceeded"]
    (records / HOSTILE).mkdir()
    (records / HOSTILE / f"{ID}.json").write_text(json.dumps(record))
    return root


@pytest.fixture(scope="module")
def page(course: Path) -> Path:
    assert main(["report", str(course), ID]) == 0
    return course / "reports" / ID / "index.html"


def test_the_report_counts_what_the_records_and_the_gradebook_hold(course: Path) -> None:
    report = gather(course, ID)
    (assignment,) = report.assignments
    expected = expected_scores(A01.samples_dir)
    rows = {row.student: row for row in assignment.rows}
    assert set(rows) == {*expected, HOSTILE}
    assert rows[HOSTILE].score is None  # a record the gradebook does not know is listed, not scored
    for student, value in expected.items():
        row = rows[student]
        assert row.score == pytest.approx(value["total"]), student
        days = {"alice": 2, "bob": 1, "carol": 1}.get(student, 0)
        assert row.late == bool(days), student
        # the penalty the course's configuration gives: a quarter of the points per day or part of one
        assert row.final_score == pytest.approx(max(0.0, value["total"] - PER_DAY * days * assignment.max_score)), \
            student
    assert sorted(row.student for row in assignment.late_rows) == ["alice", "bob", "carol"]
    # every record came from one suite version, and the report says which students it graded
    graded = class_results(course, A01)
    versions = {result.suite_version for result in graded.values()}
    assert len(versions) == 1 and assignment.suite_versions == {versions.pop(): sorted([*expected, HOSTILE])}
    # per-test failures as the records hold them (the planted record fails one more test)
    failures = Counter(short_test_id(t.test_id) for result in graded.values() for t in result.tests if not t.passed)
    failures[short_test_id(graded["bob"].tests[0].test_id)] += 1  # the planted record failed it
    assert {t.test_id: t.failed for t in assignment.tests if t.failed} == dict(failures)
    # each catalogued mistake of the sample class counted once per student: closed_form_quadratic (judy, karl)
    named = Counter(mistake for tests in EXPECTED.values() for mistake in set(tests.values()))
    counts = sorted((len(m.students) for m in assignment.mistakes if HOSTILE not in m.students), reverse=True)
    assert counts == sorted(named.values(), reverse=True)
    top = assignment.mistakes[0]
    assert (top.students, set(top.tests)) == (["judy", "karl"], {"TestFitQuadratic::test_first_steps",
                                                                 "TestFitQuadratic::test_recovers_secret_coefficients"})
    # what the sandbox stopped, by kind and submission: the class's (frank's time-outs, grace's flood of output,
    # heidi's exit) and the planted record's three
    kinds = {student: {event_kind(event) for event in result.sandbox_events} for student, result in graded.items()}
    assert {"frank": "time limit", "grace": "output truncated", "heidi": "kernel died or exited"}.items() <= \
        {student: ", ".join(sorted(found)) for student, found in kinds.items() if found}.items()
    planted = Counter({"time limit": 1, "output truncated": 1, "memory limit": 1})
    assert assignment.events == dict(Counter(kind for found in kinds.values() for kind in found) + planted)
    assert event_kind("cell 4: kernel exited with status 1") == "kernel died or exited"
    assert all(time > 0 for time in assignment.wall_times)


def test_the_page_and_its_plots_are_written_beside_each_other_and_escape_what_students_wrote(page: Path) -> None:
    text = page.read_text()
    for heading in ("Score distribution", "Suite versions", "Per-test failure rates",
                    "Most frequent diagnosed misconceptions", "Late submissions", "Grading time",
                    "What the sandbox stopped", "Instructors only"):
        assert heading in text
    pictures = ["course-scores.png", *(f"{kind}-{slug(ID)}.png" for kind in ("scores", "failures", "mistakes", "time"))]
    for name in pictures:
        data = (page.parent / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and f"src='{name}'" in text, name
    assert "<script" not in text and "<img src=x" not in text and "\x1b" not in text
    assert html.escape(HOSTILE) in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "3 of 14 submitted after the due date" in text


def test_the_course_wide_report_and_a_refused_place(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(course)]) == 0
    assert (course / "reports" / "course" / "index.html").is_file()
    assert "median" in capsys.readouterr().out
    for published in ("feedback", "release"):
        out = course / published / "report" / "index.html"
        assert main(["report", str(course), "--out", str(out)]) == 2
        assert "hands to students" in capsys.readouterr().out and not out.exists()
    assert main(["report", str(course), "a99_missing"]) == 2
    assert "not in the gradebook" in capsys.readouterr().out


def test_the_page_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    missing = browser_available()
    if missing:
        pytest.fail(missing)
    with Browser(tmp_path / "shots", label="report") as browser:
        browser.d.get(page.as_uri())
        images = browser.wait("the report's plots loaded", lambda d: d.execute_script(
            "const imgs = Array.from(document.images);"
            "return imgs.length && imgs.every(i => i.complete) ? imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"
            " : null;"))
        assert len(images) == 5 and all(width > 0 for _, width in images), images
        headings = browser.d.execute_script("return Array.from(document.querySelectorAll('h1, h2, h3'))"
                                            ".map(h => h.textContent)")
        assert headings[0] == f"Course report: {ID}" and "Late submissions" in headings
        assert browser.d.execute_script("return document.querySelector('img[src=\"x\"]') === null")
        height = browser.d.execute_script("return document.documentElement.scrollHeight")
        browser.d.set_window_size(1400, min(height + 100, 6000))
        shot = browser.shot("page")
    print(f"\nreport screenshot: {shot} ({', '.join(f'{src} {width}px' for src, width in images)})")
