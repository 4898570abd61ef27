"""The course report's pictures: matplotlib (Agg, no display) PNGs written into the report's folder.

Each function draws one figure from `.course_report`'s dataclasses and returns the PNG's file name (relative to
the folder, as the page links it), or None when there is nothing to draw. Text that came from a record (test
ids, diagnoses) is drawn with mathtext off: a ``$`` in it is a dollar, not a formula that could fail to parse.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: the report is written on servers without a display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .course_report import AssignmentReport, CourseReport
from .similarity_html import safe_line

LABEL_CHARS = 60  # a bar's label is cut here; the table under the plot has the whole text
MAX_BARS = 15
COLOUR, LATE, BAD = "#4C72B0", "#DD8452", "#C44E52"


def slug(name: str) -> str:
    """A file name part from an assignment's name: nothing but letters, digits, ``_`` and ``-``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "assignment"


def _label(text: str) -> str:
    text = safe_line(" ".join(text.split()))  # control characters spelled out: no font has a glyph for them
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def _save(figure: Figure, folder: Path, name: str) -> str:
    figure.tight_layout()
    figure.savefig(folder / name, dpi=100)
    plt.close(figure)
    return name


def score_histogram(report: AssignmentReport, folder: Path) -> str | None:
    """Final scores (late penalties applied) of one assignment, on-time and late submissions stacked."""
    if not report.rows or report.max_score <= 0:
        return None
    on_time = [row.final_score for row in report.rows if row.final_score is not None and not row.late]
    late = [row.final_score for row in report.rows if row.final_score is not None and row.late]
    figure, axes = plt.subplots(figsize=(6.4, 3.2))
    bins = [report.max_score * i / 10 for i in range(11)]
    axes.hist([on_time, late], bins=bins, stacked=True, color=[COLOUR, LATE], label=["on time", "late"],
              edgecolor="white")
    axes.set_xlim(0, report.max_score)
    axes.set_xlabel(f"final score (of {report.max_score:g} points)")
    axes.set_ylabel("students")
    axes.set_title(f"Score distribution: {report.name}", parse_math=False)
    axes.yaxis.get_major_locator().set_params(integer=True)
    if late:
        axes.legend()
    return _save(figure, folder, f"scores-{slug(report.name)}.png")


def course_distribution(course: CourseReport, folder: Path) -> str | None:
    """Each assignment's final scores as a percentage of its points, side by side, and the course totals."""
    shown = [report for report in course.assignments if report.scores and report.max_score > 0]
    if not shown:
        return None
    figure, (by_assignment, totals) = plt.subplots(1, 2, figsize=(11, 3.6), width_ratios=[max(len(shown), 2), 2])
    by_assignment.boxplot([[100 * score / report.max_score for score in report.scores] for report in shown],
                          tick_labels=[_label(report.name) for report in shown])
    by_assignment.set_ylim(-5, 105)
    by_assignment.set_ylabel("final score, % of points")
    by_assignment.set_title("Scores per assignment")
    for label in by_assignment.get_xticklabels():
        label.set(rotation=20, ha="right", parse_math=False)
    values = [100 * total / course.course_max for total in course.course_totals.values()] if course.course_max \
        else []
    totals.hist(values, bins=[10 * i for i in range(11)], color=COLOUR, edgecolor="white")
    totals.set_xlabel("course total, % of points")
    totals.set_ylabel("students")
    totals.set_title("Over the course")
    totals.yaxis.get_major_locator().set_params(integer=True)
    return _save(figure, folder, "course-scores.png")


def failure_rates(report: AssignmentReport, folder: Path) -> str | None:
    """The share of submissions failing each test, most failed first (errors the code raised in red)."""
    tests = [test for test in report.tests if test.runs][:MAX_BARS]
    if not tests:
        return None
    figure, axes = plt.subplots(figsize=(10, 1.0 + 0.32 * len(tests)))
    positions = range(len(tests))[::-1]
    wrong = [100 * (test.failed - test.student_errors) / test.runs for test in tests]
    raised = [100 * test.student_errors / test.runs for test in tests]
    axes.barh(list(positions), wrong, color=COLOUR, label="wrong value")
    axes.barh(list(positions), raised, left=wrong, color=BAD, label="the code raised")
    axes.set_yticks(list(positions), [_label(test.test_id) for test in tests])
    for label in axes.get_yticklabels():
        label.set(parse_math=False)
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions failing the test, %")
    figure.suptitle(f"Per-test failure rates: {report.name}", parse_math=False)
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, folder, f"failures-{slug(report.name)}.png")


def mistake_counts(report: AssignmentReport, folder: Path) -> str | None:
    """How many students each diagnosed misconception was named for, most frequent first."""
    mistakes = report.mistakes[:MAX_BARS]
    if not mistakes:
        return None
    figure, axes = plt.subplots(figsize=(10, 1.0 + 0.36 * len(mistakes)))
    positions = list(range(len(mistakes)))[::-1]
    axes.barh(positions, [len(mistake.students) for mistake in mistakes], color=LATE)
    axes.set_yticks(positions, [_label(mistake.diagnosis) for mistake in mistakes])
    for label in axes.get_yticklabels():
        label.set(parse_math=False)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("students")
    figure.suptitle(f"Most frequent diagnosed misconceptions: {report.name}", parse_math=False)
    return _save(figure, folder, f"mistakes-{slug(report.name)}.png")


def grading_times(report: AssignmentReport, folder: Path) -> str | None:
    """Seconds each submission took to grade (all its notebooks), as a histogram."""
    times = report.wall_times
    if not times:
        return None
    figure, axes = plt.subplots(figsize=(6.4, 3.0))
    axes.hist(times, bins=min(20, max(5, len(times))), color=COLOUR, edgecolor="white")
    axes.set_xlabel("grading wall time per submission, s")
    axes.set_ylabel("submissions")
    axes.set_title(f"Grading time: {report.name}", parse_math=False)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _save(figure, folder, f"time-{slug(report.name)}.png")
