"""What the grading service's jobs do, through nbgrader and the project's grading batch.

- `run_grade`: nbgrader's ``collect``, then `autograder.gradebook.batch.grade_batch` for the submitted
  students (the path ``autograder grade`` takes): a submission graded before, by instant feedback or an
  earlier run, is reused from its record, never graded twice.
- `run_instant`: one student's new submission collected, graded (same batch), its feedback generated and
  released through nbgrader (the student fetches it from the assignment list), within the course's
  allowance of instant gradings; before the deadline hidden-test messages are held back unless the course
  shows them.
- `grade_notebook`: one notebook sent by an instructor's nbgrader (`autograder.gradebook.preprocessor`).
- `sync_deadlines`: the roster's deadlines written as the assignments' ``duedate`` in the gradebook, which
  nbgrader's late penalties (`autograder.gradebook.config.PerDayLatePenalty`) compare submissions against.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import GetGrades

from ...course.assignment import Assignment
from ...gradebook.batch import grade_batch
from ...gradebook.course_dir import NbgraderCourse, NbgraderError
from ...gradebook.feedback import HideHiddenTestMessages
from ...gradebook.preprocessor import SandboxedGrading
from ...gradebook.prestage import default_workers
from ...grading.job import GradingRecords, grade
from ...grading.reference_check import verify_suite
from ...grading.results import JobResult
from ..roster import CourseSettings
from .instant import InstantState
from .jobs import Job

log = logging.getLogger(__name__)


def sync_deadlines(course: NbgraderCourse, settings: CourseSettings) -> None:
    """Each released assignment's ``duedate`` in the gradebook is the roster's deadline (naive UTC, as nbgrader's)."""
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        for assignment, deadline in settings.deadlines.items():
            try:
                entry = gradebook.find_assignment(assignment)
            except MissingEntry:
                continue  # not released yet: the next job writes it
            due = deadline.astimezone(datetime.UTC).replace(tzinfo=None)
            if entry.duedate != due:
                gradebook.update_or_create_assignment(assignment, duedate=due)


def collect(course: NbgraderCourse, assignment: str, student: str | None = None) -> dict[str, str]:
    """nbgrader's ``collect --update`` (one student's or everyone's); student -> "collected"/"unchanged"/refusal."""
    return {row.student: row.status if row.status != "refused" else f"refused: {row.why}"
            for row in course.collect(assignment, student)}


def result_summary(result: JobResult, *, tests: bool = True, hide_messages: bool = False) -> dict:
    """What a job reports per student, and (with ``tests``) what a student reads of their instant result."""
    summary = {"status": str(result.status), "score": result.score, "max_score": result.max_score,
               "reused": result.reused, "error": result.error, "graded_at": result.started_at,
               "seconds": result.wall_time_s}
    if result.graded and tests:
        summary["tests"] = [{"test": test.test_id, "cell": test.cell, "points": test.points,
                             "max_points": test.max_points, "passed": test.passed,
                             "message": "" if test.passed else
                             (f"{test.max_points - test.points:g} points lost (the message is shown after the "
                              "deadline)" if hide_messages else test.message)}
                            for test in result.tests]
    return summary


def run_grade(job: Job, course: NbgraderCourse, settings: CourseSettings, save: Callable[[], None]) -> None:
    """Collect and grade the job's assignment (its students, or every submission)."""
    sync_deadlines(course, settings)
    collected = collect(course, job.assignment)
    students = job.students or course.submitted_students(job.assignment)
    for student, status in collected.items():
        if status.startswith("refused"):
            job.results[student] = {"status": "refused", "error": status}
    if not students:
        job.message = f"no submissions of {job.assignment} to grade"
        return

    def done(student: str, result: JobResult) -> None:
        job.results[student] = result_summary(result, tests=False)
        save()

    try:
        workers = default_workers(Assignment(job.assignment, course.course_root()).limits())
        grade_batch(course, job.assignment, students, workers=min(workers, len(students)), on_done=done)
    finally:
        share_records(course, job.assignment)
    scores = course.scores(job.assignment)
    for student in students:
        if student in job.results and student in scores:
            job.results[student]["gradebook_total"] = sum(scores[student].values())
    graded = sum(1 for s in students if job.results.get(s, {}).get("status") == "graded")
    reused = sum(1 for s in students if job.results.get(s, {}).get("reused"))
    job.message = f"graded {graded - reused}, reused {reused}, not graded {len(students) - graded}"


def messages_hidden(settings: CourseSettings, assignment: str) -> bool:
    """Whether instant feedback holds back hidden-test messages now: before the deadline (or with none)."""
    if settings.hidden_messages_before_deadline:
        return False
    deadline = settings.deadlines.get(assignment)
    return deadline is None or datetime.datetime.now(datetime.UTC) < deadline


def run_instant(job: Job, course: NbgraderCourse, settings: CourseSettings, state: InstantState,
                detected: float) -> None:
    """One student's new submission: collected, graded, its feedback released (within the allowance)."""
    student, assignment = job.students[0], job.assignment
    sync_deadlines(course, settings)
    status = collect(course, assignment, student).get(student, "unchanged")
    if status.startswith("refused"):
        state.record(assignment, student, {"status": "refused", "error": status, "at": job.created}, counted=False)
        job.results[student] = {"status": "refused", "error": status}
        return
    used, cap = state.used(assignment, student), settings.max_instant_feedback
    if cap and used >= cap:
        message = (f"instant feedback is used up for {assignment} ({used} of {cap}): this submission was collected "
                   "and your instructor grades it")
        state.record(assignment, student, {"status": "cap_reached", "message": message, "used": used, "cap": cap,
                                           "at": job.created}, counted=False)
        job.results[student] = {"status": "cap_reached", "message": message}
        return
    try:
        result = grade_batch(course, assignment, [student])[student]
    finally:
        share_records(course, assignment)
    hide = messages_hidden(settings, assignment)
    summary = result_summary(result, hide_messages=hide)
    if result.graded:
        preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor] + ([HideHiddenTestMessages] if hide else [])
        _ok(course.api(GenerateFeedback={"preprocessors": preprocessors})
            .generate_feedback(assignment, student, force=True), f"generate_feedback {student}")
        _ok(course.api().release_feedback(assignment, student), f"release_feedback {student}")
        summary["feedback_released"] = True
        summary["seconds_to_feedback"] = round(time.monotonic() - detected, 1)
    counted = result.graded and not result.reused
    summary.update(used=used + counted, cap=cap, at=job.created)
    state.record(assignment, student, summary, counted=counted)
    job.results[student] = summary


def grade_notebook(course: NbgraderCourse, settings: CourseSettings, assignment: str, student: str,
                   notebook_name: str, notebook: dict, *, force: bool = False) -> JobResult:
    """Grade one notebook sent by an instructor's nbgrader; the record goes where that nbgrader run reads it."""
    nb = nbformat.from_dict(notebook)
    nbformat.validate(nb)
    records = GradingRecords(course.root / "grading_results")
    course_settings = SandboxedGrading(config=course.config())  # the course's own isolation and caps
    graded = Assignment(assignment, Path(settings.course_root))
    verify_suite(graded, records)
    try:
        return grade(nb, graded, student=student, notebook_name=notebook_name, records=records, force=force,
                     require_isolation=course_settings.require_isolation, caps=course_settings.caps)
    finally:
        share_records(course, assignment)


def share_records(course: NbgraderCourse, assignment: str) -> None:
    """The assignment's grading records readable by the course's staff group, whose nbgrader reads them back.

    Records are written 0600 (`JobResult.save`); the course directory is the staff group's and no student's,
    so 0660 there shows the records to its instructors and graders only.
    """
    for path in (course.root / "grading_results" / assignment).rglob("*.json"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o777 != 0o660:
            path.chmod(0o660)


def _ok(outcome: dict, step: str) -> dict:
    if not outcome.get("success"):
        raise NbgraderError(f"nbgrader {step} failed:\n{outcome.get('error') or ''}\n{outcome.get('log') or ''}")
    return outcome
