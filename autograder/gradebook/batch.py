"""Scheduling: one grading job per (student, assignment), safely, for a whole class.

`grade_batch` checks the course can take the results before touching
anything (`preflight`), holds the course's grading lock so two runs never
grade at once, grades the jobs in parallel worker processes (`prestage`)
and runs nbgrader's autograde per student, which adopts their records. A batch killed at
any point resumes by running again: finished jobs are reused from their
records, unfinished ones run, and every submission ends with one result; a
reused one says so (``JobResult.reused``), since nbgrader's run of the job
cannot tell.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from ..course.assignment import Assignment, CourseError
from ..grading.job import REUSED_SAME_JOB, GradingRecords
from ..grading.reference_check import verify_suite
from ..grading.results import JobResult, JobStatus
from ..sandbox.cgroups import remove_stale_cgroups
from ..sandbox.process import remove_stale_workdirs
from .course_dir import NbgraderCourse, NbgraderError
from .inline import combined_result, submitted_notebooks, uses_inline_tests
from .prestage import prestage
from .service_client import grading_service
from .submissions import SubmissionRefused, check_submission

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 2**20


class GradingBlocked(CourseError):
    """The course cannot take results right now; nothing was written."""


def preflight(course: NbgraderCourse, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Refuse to start a batch that could only end half-written."""
    database = course.root / "gradebook.db"
    for folder in (course.root, course.root / "grading_results", course.root / "autograded"):
        if folder.exists() and not os.access(folder, os.W_OK):
            raise GradingBlocked(f"{folder} is not writable: fix its permissions, then grade again")
    if database.exists():
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=30)) as db:
                # A real (rolled back) write: a read-only file or mount only fails on writing.
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.execute("BEGIN IMMEDIATE")
                db.execute(f"PRAGMA user_version = {int(version)}")
                db.rollback()
        except sqlite3.OperationalError as exc:
            raise GradingBlocked(f"the gradebook {database} cannot be written ({exc}): make it writable "
                                 "(and check its folder is too), then grade again") from None
    free = shutil.disk_usage(course.root).free
    if free < min_free_bytes:
        raise GradingBlocked(f"only {free // 2**20} MiB free on the disk holding {course.root}; "
                             f"grading needs at least {min_free_bytes // 2**20} MiB: free some space, then grade again")


@contextlib.contextmanager
def grading_lock(course: NbgraderCourse, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the course's grading lock; the OS releases it even when the grader is killed."""
    path = course.root / "grading_results" / ".grading.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def grade_batch(course: NbgraderCourse, assignment: str, students: list[str], *, force: bool = False,
                workers: int = 1, ray_address: str | None = None,
                on_start: Callable[[str], None] | None = None,
                on_done: Callable[[str, JobResult], None] | None = None,
                on_wait: Callable[[], None] | None = None) -> dict[str, JobResult]:
    """Autograde ``students``; each gets its `JobResult` (failed or refused ones with the reason in ``error``).

    With ``workers`` > 1 the jobs are first graded that many at a time (`prestage`), or on the Ray cluster at
    ``ray_address`` (None: the course config's, if any; "": none); nbgrader's run then adopts their records,
    so the gradebook ends as a serial run leaves it.
    """
    course.check_ready_to_grade(assignment)
    preflight(course)
    records = GradingRecords(course.root / "grading_results")
    outcomes: dict[str, JobResult] = {}
    with grading_lock(course, on_wait):
        remove_stale_cgroups()
        for folder in remove_stale_workdirs():
            log.warning("removed %s, left by a grader that was stopped", folder)
        delegated = bool(grading_service())  # the hub's service verifies the suite and grades each job itself
        # Inline tests (nbgrader's own) have no suite or reference to verify, and grade within nbgrader's run.
        inline = uses_inline_tests(Assignment(assignment, course.course_root()))
        if not delegated and not inline:
            verify_suite(Assignment(assignment, course.course_root()), records)
        try:
            if not delegated and not inline:
                prestage(course, assignment, students, records, workers=workers, force=force,
                         ray_address=ray_address)
            for student in students:
                if on_start is not None:
                    on_start(student)
                outcomes[student] = grade_one(course, records, assignment, student, force=force)
                if on_done is not None:
                    on_done(student, outcomes[student])
        finally:
            shutil.rmtree(records.staging().root / assignment, ignore_errors=True)
    return outcomes



def grade_one(course: NbgraderCourse, records: GradingRecords, assignment: str, student: str, *,
              force: bool = False) -> JobResult:
    """One student's job through nbgrader; a refused or broken submission becomes a result that says why."""
    notebook = assignment  # one notebook per assignment, named after it
    try:
        # Before nbgrader reads a byte: links, special files, size (the folders down from submitted/ included).
        check_submission(course.root / "submitted" / student / assignment, within=course.root / "submitted")
    except SubmissionRefused as exc:
        return JobResult.without_results(student, assignment, notebook, str(exc), JobStatus.REFUSED)
    path = records.path(assignment, student, notebook)
    before = record_stamp(path)
    # An nbgrader assignment with inline tests may have several notebooks: one record each, read back together.
    notebooks = submitted_notebooks(course.root / "submitted" / student / assignment) \
        if uses_inline_tests(Assignment(assignment, course.course_root())) else []
    stamps = {name: record_stamp(records.path(assignment, student, name)) for name in notebooks}
    try:
        course.autograde(assignment, student, force_regrade=force)
    except NbgraderError as exc:
        # One broken submission never stops the batch; nbgrader's log says why.
        return JobResult.without_results(student, assignment, notebook, exc.summary())
    if notebooks:
        return combined_result(records, assignment, student, notebooks, stamps)
    result = JobResult.load(path)
    if result is None:
        return JobResult.without_results(student, assignment, notebook, "nbgrader finished but wrote no grading record")
    # The job decided inside nbgrader's run; what comes back here is the record on disk. A job that grades
    # replaces the record (a new file, see `JobResult.save`); an untouched one was reused.
    if not force and before is not None and record_stamp(path) == before and result.graded:
        result.reused = REUSED_SAME_JOB
    return result


def stale_results(course: NbgraderCourse, assignment: str, students: list[str]) -> dict[str, str]:
    """student -> the suite version of their graded record, for records graded by another suite version than the
    assignment's current one (its hidden suite or reference changed since): what `grade --stale` regrades.

    Records that are not graded (refused, failed) are not stale: a plain `grade` grades them anyway. Assignments
    graded by their inline tests have no suite version (nbgrader's source is their suite) and nothing stale.
    """
    current = Assignment(assignment, course.course_root())
    if uses_inline_tests(current):
        return {}
    version = current.suite_version()
    records = GradingRecords(course.root / "grading_results")
    stale = {}
    for student in students:
        result = JobResult.load(records.path(assignment, student, assignment))
        if result is not None and result.graded and result.suite_version != version:
            stale[student] = result.suite_version
    return stale


def record_stamp(path: Path) -> tuple[int, ...] | None:
    """What changes whenever a record is saved again (each save is a new file renamed over the old)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
