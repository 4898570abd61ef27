"""``similarity``, ``report`` and ``export``: instructor reports on a class and the gradebook for the LMS.

Each command imports its modules when it runs (the CLI's cheap commands stay cheap).
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from . import output

SHOWN_LINES = 40  # lines of each cell printed per pair in the terminal; the HTML page shows them all


def similarity_command(course_dir: Path, assignment: str, threshold: float, html: Path | None, show: int) -> int:
    from ..course.assignment import CourseError
    from ..reports.class_cells import read_class
    from ..reports.similarity import compare_class
    from ..reports.similarity_html import cell_summary, check_page_path, safe_line, write_page

    if not 0.0 <= threshold <= 1.0:
        raise CourseError(f"--threshold {threshold}: give a fraction between 0 and 1, like 0.6")
    if html is not None:
        check_page_path(html, course_dir)
    report = compare_class(read_class(course_dir, assignment), threshold)
    console = output.console
    console.print(Text(f"Similarity of {assignment}: {len(report.students)} submissions, "
                       f"{len(report.students) * (len(report.students) - 1) // 2} pairs compared, "
                       f"{len(report.pairs)} at or above {threshold:.0%} (starter code from {report.starter_from} "
                       "does not count). Instructors only."))
    for note in report.notes:
        console.print(Text(f"  note: {safe_line(note)}"))
    if report.pairs:
        table = Table(title="Most alike pairs (solution cells, names, comments and literals normalised)")
        for column in ("#", "student", "student", "similarity", "shared", "cells"):
            table.add_column(column)
        for rank, pair in enumerate(report.pairs, 1):
            table.add_row(str(rank), Text(safe_line(pair.a)), Text(safe_line(pair.b)), f"{pair.score:.0%}",
                          str(pair.shared), Text("\n".join(cell_summary(m) for m in pair.cells)))
        console.print(table)
    if report.best_below:
        below = report.best_below
        console.print(Text(f"Most alike pair under the threshold: {below.a} and {below.b}, {below.score:.0%}."))
    for rank, pair in enumerate(report.pairs[:show], 1):
        for match in pair.cells[:3]:
            # Student-chosen text goes in as Text: rich would read "[...]" in a plain string as markup.
            table = Table(title=Text(f"{rank}. {safe_line(pair.a)} / {safe_line(pair.b)}: {cell_summary(match)} "
                                     "(▶ matched lines)"))
            table.add_column(Text(safe_line(pair.a)))
            table.add_column(Text(safe_line(pair.b)))
            table.add_row(_lines(report.cells[pair.a][match.key].source, match.lines_a, safe_line),
                          _lines(report.cells[pair.b][match.key].source, match.lines_b, safe_line))
            console.print(table)
    if html is not None:
        page = write_page(report, html, course_dir)
        console.print(Text(f"HTML report with every pair side by side: {page}"))
    return 0


def export_command(course_dir: Path, canvas: Path, assignments: list[str], canvas_ids: list[str], *,
                   section: str = "", missing_zero: bool = False) -> int:
    from ..course.assignment import CourseError
    from ..gradebook.course_dir import NbgraderCourse
    from ..gradebook.lms import final_grades, write_canvas_csv

    ids = {}
    for pair in canvas_ids:
        assignment, _, number = pair.partition("=")
        if not assignment or not number.strip().isdigit():
            raise CourseError(f"--canvas-id {pair!r}: give ASSIGNMENT=ID, the number in the Canvas assignment's "
                              "address (…/assignments/ID), e.g. a01_gradient_descent=1234")
        ids[assignment] = number.strip()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise CourseError(f"{course_dir} is not an nbgrader course (no nbgrader_config.py there): give the course "
                          "directory you grade in")
    grades = final_grades(NbgraderCourse(course_dir), assignments or None)
    path = write_canvas_csv(grades, canvas, canvas_ids=ids, section=section, missing_zero=missing_zero)
    for note in grades.notes:
        output.console.print(Text(f"note: {note}"))
    submitted = sum(score is not None for student in grades.students for score in student.scores.values())
    output.console.print(Text(f"Canvas gradebook import CSV: {path} ({len(grades.students)} students, "
                              f"{len(grades.assignments)} assignment(s), {submitted} graded submission(s), late "
                              "penalties applied). Import it in Canvas: Grades > Import."))
    return 0


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[:size - 1] + "…"


def _lines(source: str, matched: frozenset[int], safe_line) -> Text:
    lines = source.splitlines()
    shown = [f"{'▶' if n in matched else ' '}{n:3} {safe_line(line)}" for n, line in enumerate(lines[:SHOWN_LINES], 1)]
    if len(lines) > SHOWN_LINES:
        shown.append(f"  … {len(lines) - SHOWN_LINES} more lines (--html shows them)")
    return Text("\n".join(shown))


def report_command(course_dir: Path, assignment: str | None, out: Path | None) -> int:
    from ..reports.course_report import gather
    from ..reports.report_html import check_out_path, write_report
    from ..reports.similarity_html import safe_line

    page = check_out_path(out or course_dir / "reports" / (assignment or "course") / "index.html", course_dir)
    report = gather(course_dir, assignment)
    write_report(report, page)
    console = output.console
    for item in report.assignments:
        late = len(item.late_rows)
        stopped = sum(bool(row.events) for row in item.rows)
        top = item.mistakes[0] if item.mistakes else None
        console.print(Text(f"{item.name}: {len(item.rows)} submissions, median {item.median_score() or 0:.4g} of "
                           f"{item.max_score:g}, {late} late, sandbox stopped something in {stopped}"
                           + (f"; most frequent misconception ({len(top.students)} students): "
                              f"{_cut(safe_line(top.diagnosis), 90)}" if top else "")))
    console.print(Text(f"Course report (instructors only, with its plots beside it): {page}"))
    return 0
