"""The course report as one HTML page with its PNG plots beside it: for instructors, never for students.

`write_report` draws the plots (`.plots`) into the page's folder and writes the page, which has no script and
loads nothing but those PNGs. Everything a student could have chosen (ids, messages quoting their values, the
sandbox's notes on their code) is escaped and has its control characters spelled out (`.similarity_html.safe_line`).
`check_out_path` refuses a folder inside the course's ``feedback/`` or ``release/``, which nbgrader hands to
students.
"""

from __future__ import annotations

import html
import statistics
from pathlib import Path

from ..course.assignment import CourseError
from . import plots
from .course_report import AssignmentReport, CourseReport
from .similarity_html import safe_line

MAX_EVENT_ROWS = 50  # submissions listed under "what the sandbox stopped"; the counts cover them all
MAX_EVENTS_SHOWN = 4  # events listed per submission
MAX_STUDENTS_LISTED = 30  # students named per misconception
SLOWEST = 5
MAX_TEXT_CHARS = 2000  # of one message, note or event on the page
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:80em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}th{background:#f3f3f3}
td.n{text-align:right}.note{color:#555}.warn{background:#fff4e0;border:1px solid #e0a040;padding:.5em 1em}
img{max-width:100%;display:block;margin:.5em 0}h2{border-bottom:2px solid #4C72B0;margin-top:2.5em}
code{font-size:.9em}"""


def _e(text: object) -> str:
    """Hostile text as page text: control characters spelled out, a flood cut, then HTML-escaped."""
    text = str(text)
    cut = " …" if len(text) > MAX_TEXT_CHARS else ""
    return html.escape("".join(safe_line(part) for part in _chunks(text[:MAX_TEXT_CHARS])) + cut)


def _chunks(text: str, size: int = 200) -> list[str]:
    # safe_line cuts a line at its own length: feed it pieces shorter than that
    return [text[start:start + size] for start in range(0, len(text), size)]


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"


def _due(duedate: object) -> str:
    """nbgrader keeps due dates as naive UTC."""
    return f"{duedate:%Y-%m-%d %H:%M} UTC" if duedate else "none"


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.2f}"


def _img(name: str | None, alt: str) -> str:
    return f"<img src='{html.escape(name)}' alt='{html.escape(alt)}'>" if name else \
        f"<p class='note'>No data for: {html.escape(alt)}.</p>"


def check_out_path(path: Path, course_dir: Path) -> Path:
    """The page's path resolved; refused inside the course's ``feedback/`` or ``release/`` (what students get)."""
    target = path.resolve()
    for published in ("feedback", "release"):
        if target.is_relative_to((course_dir / published).resolve()):
            raise CourseError(f"--out {path} is inside {course_dir / published}, which nbgrader hands to students: "
                              "the report is for instructors only; write it elsewhere (default: "
                              f"{course_dir / 'reports'})")
    if target.suffix.lower() not in (".html", ".htm"):
        raise CourseError(f"--out {path}: give the page's file name ending in .html, e.g. {path / 'index.html'}")
    return target


def write_report(report: CourseReport, path: Path) -> Path:
    """Draw the plots beside ``path`` and write the page there; the page's path (checked by the caller)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    pictures = {"course": plots.course_distribution(report, folder)}
    for assignment in report.assignments:
        pictures[assignment.name] = [plots.score_histogram(assignment, folder),
                                     plots.failure_rates(assignment, folder),
                                     plots.mistake_counts(assignment, folder),
                                     plots.grading_times(assignment, folder)]
    path.write_text(render_page(report, pictures), encoding="utf-8")
    return path


def render_page(report: CourseReport, pictures: dict) -> str:
    title = report.assignments[0].name if len(report.assignments) == 1 else report.course_dir.name
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Course report: {_e(title)}</title>"
           f"<style>{_STYLE}</style></head><body><h1>Course report: {_e(title)}</h1>",
           f"<p class='warn'>Instructors only: this page names students and their mistakes. Never share it with "
           f"students or put it in their feedback. Written {_e(report.generated_at)} from the gradebook and the "
           f"grading records of <code>{_e(report.course_dir)}</code>.</p>",
           "<h2 id='overview'>Overview</h2><table><tr><th>assignment</th><th>due</th><th>points</th>"
           "<th>submissions</th><th>median final score</th><th>late</th><th>not graded</th>"
           "<th>sandbox stopped something</th><th>suite versions</th></tr>"]
    for a in report.assignments:
        stopped = sum(bool(row.events) for row in a.rows)
        not_graded = sum(row.status not in ("", "graded") for row in a.rows)
        out.append(f"<tr><td><a href='#a-{html.escape(plots.slug(a.name))}'>{_e(a.name)}</a></td>"
                   f"<td>{_e(_due(a.duedate))}</td><td class='n'>{a.max_score:g}</td>"
                   f"<td class='n'>{len(a.rows)}</td><td class='n'>{_points(a.median_score())}</td>"
                   f"<td class='n'>{len(a.late_rows)}</td><td class='n'>{not_graded}</td>"
                   f"<td class='n'>{stopped}</td><td>{_e(', '.join(a.suite_versions) or '–')}</td></tr>")
    out.append("</table>")
    out.append(_img(pictures.get("course"), "score distribution per assignment and over the course"))
    if report.course_totals:
        totals = list(report.course_totals.values())
        out.append(f"<p>{len(totals)} students; course total median {statistics.median(totals):.4g} of "
                   f"{report.course_max:g} points (late penalties applied).</p>")
    if report.notes:
        out.append("<h3>Late penalties</h3><ul>" + "".join(f"<li>{_e(note)}</li>" for note in report.notes)
                   + "</ul>")
    for a in report.assignments:
        out += _assignment_section(a, pictures.get(a.name) or [None] * 4)
    out.append("</body></html>")
    return "\n".join(out)


def _assignment_section(a: AssignmentReport, pictures: list[str | None]) -> list[str]:
    scores, failures, mistakes, times = pictures
    out = [f"<h2 id='a-{html.escape(plots.slug(a.name))}'>{_e(a.name)}</h2>"]
    out += [f"<p class='note'>{_e(note)}</p>" for note in a.notes]
    out.append("<h3>Score distribution</h3>" + _img(scores, f"score distribution of {a.name}"))
    out.append("<h3>Suite versions</h3><p class='note'>Which grading records came from which version of the "
               "hidden suite (a result graded before the suite changed keeps its version).</p>"
               "<table><tr><th>suite version</th><th>submissions</th><th>students</th></tr>")
    for version, students in a.suite_versions.items():
        out.append(f"<tr><td><code>{_e(version)}</code></td><td class='n'>{len(students)}</td>"
                   f"<td>{_e(', '.join(students))}</td></tr>")
    out.append("</table>")
    out.append("<h3>Per-test failure rates</h3>" + _img(failures, f"per-test failure rates of {a.name}"))
    if a.tests:
        out.append("<table><tr><th>test</th><th>points</th><th>failed</th><th>of which the code raised</th>"
                   "<th>submissions</th><th>failure rate</th></tr>")
        out += [f"<tr><td><code>{_e(t.test_id)}</code></td><td class='n'>{t.max_points:g}</td>"
                f"<td class='n'>{t.failed}</td><td class='n'>{t.student_errors}</td><td class='n'>{t.runs}</td>"
                f"<td class='n'>{t.failure_rate:.0%}</td></tr>" for t in a.tests]
        out.append("</table>")
    out.append("<h3>Most frequent diagnosed misconceptions</h3>" + _img(mistakes, f"misconceptions in {a.name}"))
    if a.mistakes:
        out.append("<table><tr><th>diagnosis</th><th>students</th><th>who</th><th>tests</th></tr>")
        for m in a.mistakes:
            who = ", ".join(m.students[:MAX_STUDENTS_LISTED]) + (" …" if len(m.students) > MAX_STUDENTS_LISTED else "")
            out.append(f"<tr><td>{_e(m.diagnosis)}</td><td class='n'>{len(m.students)}</td><td>{_e(who)}</td>"
                       f"<td>{_e(', '.join(m.tests))}</td></tr>")
        out.append("</table>")
    out += _late(a)
    out.append("<h3>Grading time</h3>" + _img(times, f"grading time of {a.name}"))
    if a.wall_times:
        slowest = sorted((row for row in a.rows if row.status), key=lambda row: -row.wall_time_s)[:SLOWEST]
        out.append(f"<p>Median {statistics.median(a.wall_times):.1f} s, slowest {max(a.wall_times):.1f} s per "
                   f"submission (sandbox start, the notebook and the hidden suite). Slowest: "
                   + ", ".join(f"{_e(row.student)} {row.wall_time_s:.1f} s" for row in slowest) + ".</p>")
    out += _sandbox(a)
    return out


def _late(a: AssignmentReport) -> list[str]:
    late = a.late_rows
    if not late:
        due = f"due {_e(_due(a.duedate))}" if a.duedate else "no due date set"
        return [f"<h3>Late submissions</h3><p>None ({due}).</p>"]
    out = [f"<h3>Late submissions</h3><p>{len(late)} of {len(a.rows)} submitted after the due date "
           f"({_e(_due(a.duedate))}, extensions included).</p><table><tr><th>student</th><th>days late</th>"
           "<th>score</th><th>late penalty</th><th>final score</th></tr>"]
    out += [f"<tr><td>{_e(row.student)}</td><td class='n'>{_days(row.seconds_late)}</td>"
            f"<td class='n'>{_points(row.score)}</td><td class='n'>{row.penalty:.4g}</td>"
            f"<td class='n'>{_points(row.final_score)}</td></tr>"
            for row in sorted(late, key=lambda row: -row.seconds_late)]
    out.append("</table>")
    return out


def _sandbox(a: AssignmentReport) -> list[str]:
    out = ["<h3>What the sandbox stopped</h3>"]
    stopped = [row for row in a.rows if row.events]
    failed = [row for row in a.rows if row.status not in ("", "graded")]
    if not stopped and not failed:
        return [*out, "<p>Nothing: every submission ran within its limits.</p>"]
    if a.events:
        out.append("<table><tr><th>what</th><th>submissions</th></tr>"
                   + "".join(f"<tr><td>{_e(kind)}</td><td class='n'>{count}</td></tr>"
                             for kind, count in a.events.items()) + "</table>")
    if stopped:
        out.append("<table><tr><th>student</th><th>events</th></tr>")
        for row in stopped[:MAX_EVENT_ROWS]:
            shown = "<br>".join(_e(event) for event in row.events[:MAX_EVENTS_SHOWN])
            more = f"<br>(+{len(row.events) - MAX_EVENTS_SHOWN} more)" if len(row.events) > MAX_EVENTS_SHOWN else ""
            out.append(f"<tr><td>{_e(row.student)}</td><td>{shown}{more}</td></tr>")
        out.append("</table>")
        if len(stopped) > MAX_EVENT_ROWS:
            out.append(f"<p class='note'>{len(stopped) - MAX_EVENT_ROWS} more submissions: their grading records "
                       "list them.</p>")
    if failed:
        out.append("<p>Not graded (the summary of `autograder grade` says why too):</p><table><tr><th>student</th>"
                   "<th>status</th><th>why</th></tr>")
        out += [f"<tr><td>{_e(row.student)}</td><td>{_e(row.status)}</td><td>{_e(row.error)}</td></tr>"
                for row in failed]
        out.append("</table>")
    return out
