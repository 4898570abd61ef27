"""Scheduling: one grading job per (student, assignment), safely, for a whole class.

`grade_batch` checks the course can take the results before touching
anything (`preflight`), holds the course's grading lock so two runs never
grade at once, and runs nbgrader's autograde per student. A batch killed at
any point resumes by running again: finished jobs are reused from their
records, unfinished ones run, and every submission ends with one result.
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

from . import sandbox
from .authoring import check_reference
from .course import Assignment, CourseError
from .gradebook import NbgraderCourse, NbgraderError
from .job import GradingRecords
from .kernel import remove_stale_workdirs
from .results import JobResult
from .suite import SuiteError

log = logging.getLogger(__name__)

MIN_FREE_BYTES = 200 * 2**20
MAX_SUBMISSION_BYTES = 25 * 2**20


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


def verify_suite(assignment: Assignment, records: GradingRecords) -> None:
    """Refuse to grade anyone against a suite that errors or that the reference itself fails.

    The verdict is kept per suite version, so each version is verified once.
    """
    version = assignment.suite_version()
    verdict = records.root / "verified_suites" / f"{assignment.id}-{version}.ok"
    if verdict.exists():
        return
    checks, _ = check_reference(assignment, seeds=1)
    failed = [check for check in checks if not check.ok]
    if failed:
        raise SuiteError(f"{assignment.suite_dir}: the reference solution in {assignment.source_notebook.name} does "
                         f"not pass its own hidden suite ({failed[0].detail}); fix the suite or the reference. "
                         "No student was graded.")
    verdict.parent.mkdir(parents=True, exist_ok=True)
    verdict.write_text(version)


def grade_batch(course: NbgraderCourse, assignment: str, students: list[str], *, force: bool = False,
                on_start: Callable[[str], None] | None = None,
                on_done: Callable[[str, JobResult | str], None] | None = None,
                on_wait: Callable[[], None] | None = None) -> dict[str, JobResult | str]:
    """Autograde ``students``; each gets its `JobResult`, or a one-line reason it could not be graded."""
    preflight(course)
    records = GradingRecords(course.root / "grading_results")
    outcomes: dict[str, JobResult | str] = {}
    with grading_lock(course, on_wait):
        remove_stale_cgroups()
        for folder in remove_stale_workdirs():
            log.warning("removed %s, left by a grader that was stopped", folder)
        verify_suite(Assignment(assignment, course.course_root()), records)
        for student in students:
            if on_start is not None:
                on_start(student)
            oversized = [p for p in (course.root / "submitted" / student / assignment).glob("*.ipynb")
                         if p.stat().st_size > MAX_SUBMISSION_BYTES]
            try:
                if oversized:
                    raise NbgraderError(f"{oversized[0].name} is {oversized[0].stat().st_size // 2**20} MiB "
                                        f"(limit {MAX_SUBMISSION_BYTES // 2**20} MiB): clear its outputs "
                                        "(Kernel > Restart & Clear Output) and submit again")
                course.autograde(assignment, student, force_regrade=force)
                outcome: JobResult | str = JobResult.load(records.path(assignment, student, assignment)) or \
                    "nbgrader finished but wrote no grading record"
            except NbgraderError as exc:
                # One broken submission never stops the batch; nbgrader's log says why.
                outcome = exc.summary()
            outcomes[student] = outcome
            if on_done is not None:
                on_done(student, outcome)
    return outcomes


def remove_stale_cgroups() -> None:
    """Empty per-kernel cgroups left by a grader that was killed; ones still in use refuse to go."""
    for root in set(sandbox.cgroup_roots().values()):
        for group in root.glob("autograder-*"):
            with contextlib.suppress(OSError):
                if not (group / "cgroup.procs").read_text().strip():
                    group.rmdir()
