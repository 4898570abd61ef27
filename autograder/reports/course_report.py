"""What the course report says, gathered into plain dataclasses: no plotting and no HTML here.

Two sources, read as they are left by grading: nbgrader's gradebook (each submission's score, including
manual grades, its timestamp and lateness against the assignment's due date, the late penalty the course's
configuration gives now, see `..gradebook.lms`) and the grading records
``grading_results/<assignment>/<student>/<notebook>.json`` (`..grading.results.JobResult`: every test with its
message, the grading time, the suite version and what the sandbox stopped). A diagnosed misconception is a
failed test whose message starts with ``Likely mistake: `` (`..grading.mistakes`); it is counted once per
student. Student ids and messages are kept verbatim: the page escapes them (`.report_html`).
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from ..course.assignment import CourseError
from ..gradebook.course_dir import NbgraderCourse
from ..gradebook.lms import final_grades
from ..grading.job import STAGING
from ..grading.results import JobResult

MISTAKE_PREFIX = "Likely mistake: "
# What the sandbox stopped, by kind: the words its events say it with (`..sandbox.kernel`, `..sandbox.process`).
EVENT_KINDS = (("time limit", "time limit"), ("memory limit", "memory"), ("output truncated", "output truncated"),
               ("message too large", "message over"), ("kernel died or exited", "kernel"),
               ("kernel died or exited", "exit"))


@dataclass
class StudentRow:
    """One student's submission of one assignment."""

    student: str
    score: float | None  # the gradebook's score (manual grades included), None: not in the gradebook
    final_score: float | None  # less the late penalty the course's configuration gives now
    seconds_late: float = 0.0
    wall_time_s: float = 0.0  # all notebooks' grading records together
    suite_versions: list[str] = field(default_factory=list)
    status: str = ""  # graded, failed or refused (the records'), "" without a record
    error: str = ""
    events: list[str] = field(default_factory=list)

    @property
    def late(self) -> bool:
        return self.seconds_late > 0

    @property
    def penalty(self) -> float:
        return 0.0 if self.score is None or self.final_score is None else self.score - self.final_score


@dataclass
class TestStat:
    test_id: str  # Class::test (the module path left out)
    max_points: float
    runs: int = 0
    failed: int = 0
    student_errors: int = 0  # failures the student's code raised (not a wrong value)

    @property
    def failure_rate(self) -> float:
        return self.failed / self.runs if self.runs else 0.0


@dataclass
class MistakeStat:
    diagnosis: str  # the "Likely mistake: ..." line without its prefix
    students: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)


@dataclass
class AssignmentReport:
    name: str
    duedate: datetime.datetime | None
    max_score: float
    rows: list[StudentRow]
    tests: list[TestStat]
    mistakes: list[MistakeStat]  # most students first
    events: dict[str, int]  # kind -> submissions where the sandbox stopped something of that kind
    suite_versions: dict[str, list[str]]  # suite version -> students whose records came from it
    notes: list[str] = field(default_factory=list)

    @property
    def scores(self) -> list[float]:
        return [row.final_score for row in self.rows if row.final_score is not None]

    @property
    def late_rows(self) -> list[StudentRow]:
        return [row for row in self.rows if row.late]

    @property
    def wall_times(self) -> list[float]:
        return [row.wall_time_s for row in self.rows if row.status]

    def median_score(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None


@dataclass
class CourseReport:
    course_dir: Path
    assignments: list[AssignmentReport]
    course_totals: dict[str, float]  # student -> sum of final scores over the report's assignments
    course_max: float
    generated_at: str
    notes: list[str] = field(default_factory=list)


def event_kind(event: str) -> str:
    """The kind of one sandbox event, for counting; ``other`` where the words are not known."""
    lowered = event.lower()
    return next((kind for kind, words in EVENT_KINDS if words in lowered), "other")


def short_test_id(test_id: str) -> str:
    """``Class::test`` of a pytest id (the hidden suite's file path says nothing to the reader)."""
    return "::".join(test_id.split("::")[-2:])


def gather(course_dir: Path, assignment: str | None = None) -> CourseReport:
    """The report on ``assignment``, or on every assignment in the gradebook, of the course at ``course_dir``."""
    course = NbgraderCourse(course_dir)
    course.config()  # refuses a folder that is not an nbgrader course, saying what to give
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        known = sorted(gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate, a.name))
        names = [a.name for a in known]
        if assignment is not None and assignment not in names:
            raise CourseError(f"{assignment}: not in the gradebook of {course_dir} (it has "
                              f"{', '.join(names) or 'no assignment'}): release and grade it first, or leave "
                              "ASSIGNMENT out for the whole course")
        chosen = [a for a in known if assignment is None or a.name == assignment]
        if not chosen:
            raise CourseError(f"the gradebook of {course_dir} has no assignment yet: release and grade one first")
        facts = {a.name: (a.duedate, float(a.max_score),
                          {s.student.id: (float(s.score), float(s.total_seconds_late or 0.0))
                           for s in gradebook.assignment_submissions(a.name)}) for a in chosen}
    finals = final_grades(course, [a.name for a in chosen])
    final = {(name, student.id): score for student in finals.students for name, score in student.scores.items()}
    reports = [_assignment(course_dir / "grading_results", name, *facts[name], final) for name in facts]
    totals: dict[str, float] = defaultdict(float)
    for report in reports:
        for row in report.rows:
            totals[row.student] += row.final_score or 0.0
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return CourseReport(course_dir, reports, dict(sorted(totals.items())),
                        sum(report.max_score for report in reports), stamp, list(finals.notes))


def _assignment(records_root: Path, name: str, duedate: datetime.datetime | None, max_score: float,
                submissions: dict[str, tuple[float, float]], final: dict[tuple[str, str], float | None]
                ) -> AssignmentReport:
    records, notes = _records(records_root / name)
    rows = []
    for student in sorted(set(submissions) | set(records)):
        score, late = submissions.get(student, (None, 0.0))
        row = StudentRow(student, score, final.get((name, student), score), seconds_late=late)
        results = records.get(student, [])
        if results:
            row.wall_time_s = sum(result.wall_time_s for result in results)
            row.suite_versions = sorted({result.suite_version for result in results if result.suite_version})
            bad = [result for result in results if not result.graded]
            row.status = str(bad[0].status) if bad else "graded"
            row.error = bad[0].error if bad else ""
            row.events = [event for result in results for event in result.sandbox_events]
        elif score is not None:
            notes.append(f"{student}: in the gradebook without a grading record (graded elsewhere, or the "
                         "records were removed)")
        rows.append(row)
    graded = [result for results in records.values() for result in results if result.graded]
    versions: dict[str, list[str]] = defaultdict(list)
    for student, results in sorted(records.items()):
        for version in sorted({result.suite_version or "(none)" for result in results}):
            versions[version].append(student)
    events = Counter(kind for row in rows for kind in {event_kind(event) for event in row.events})
    return AssignmentReport(name, duedate, max_score, rows, _tests(graded), _mistakes(graded),
                            dict(events.most_common()), dict(versions), notes)


def _records(folder: Path) -> tuple[dict[str, list[JobResult]], list[str]]:
    """student -> their notebooks' grading records (graded, failed or refused) in ``folder``."""
    records: dict[str, list[JobResult]] = {}
    notes: list[str] = []
    if not folder.is_dir():
        return records, [f"no grading records in {folder}: grade the assignment with `autograder grade`"]
    for student_dir in sorted(folder.iterdir()):
        if student_dir.name == STAGING or not student_dir.is_dir() or student_dir.is_symlink():
            continue
        for path in sorted(student_dir.glob("*.json")):
            result = JobResult.load(path)
            if result is None:
                notes.append(f"{student_dir.name}: the record {path.name} is damaged and was left out")
                continue
            records.setdefault(student_dir.name, []).append(result)
    return records, notes


def _tests(graded: list[JobResult]) -> list[TestStat]:
    stats: dict[str, TestStat] = {}
    several = len({result.notebook for result in graded}) > 1  # then a test id is prefixed with its notebook
    for result in graded:
        for test in result.tests:
            if test.outcome == "skipped":
                continue
            key = f"{result.notebook}: {short_test_id(test.test_id)}" if several else short_test_id(test.test_id)
            stat = stats.setdefault(key, TestStat(key, test.max_points))
            stat.runs += 1
            stat.failed += not test.passed
            stat.student_errors += (not test.passed) and test.student_error
    return sorted(stats.values(), key=lambda s: (-s.failure_rate, s.test_id))


def _mistakes(graded: list[JobResult]) -> list[MistakeStat]:
    found: dict[str, MistakeStat] = {}
    for result in graded:
        for test in result.tests:
            if test.passed or not test.message.startswith(MISTAKE_PREFIX):
                continue
            diagnosis = test.message.splitlines()[0][len(MISTAKE_PREFIX):].strip()
            stat = found.setdefault(diagnosis, MistakeStat(diagnosis))
            if result.student not in stat.students:
                stat.students.append(result.student)
            if short_test_id(test.test_id) not in stat.tests:
                stat.tests.append(short_test_id(test.test_id))
    return sorted(found.values(), key=lambda s: (-len(s.students), s.diagnosis))
