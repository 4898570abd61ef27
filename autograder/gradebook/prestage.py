"""Scheduling, in parallel: a class's jobs graded by worker processes ahead of nbgrader's serial run.

nbgrader autogrades one submission at a time, and its gradebook wants one writer. Most of a job's time
is the sandboxed kernel (starting it, importing torch, running the notebook and the hidden suite), not
nbgrader. `prestage` therefore grades the batch's submissions in ``workers`` processes at once, each job
exactly as the `SandboxedGrading` preprocessor would grade it (same course settings, same secret seed),
and leaves each record in the staging folder of the course's grading records. nbgrader's run then
goes through the students one by one as before; for each, the preprocessor adopts the staged record
when it is for exactly the notebook nbgrader hands over and the current suite (`grading.job.adopt_staged`),
and grades the job itself otherwise. The gradebook therefore ends with the scores a serial run gives.

A submission that fails the folder check, or whose notebook cannot be read, is left to nbgrader's run,
which refuses it with its reason. A worker that crashes costs nothing but time: its jobs are graded in
nbgrader's run.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course.assignment import Assignment
from ..grading.job import GradingRecords, grade, job_seed, submission_hash
from ..grading.results import JobResult
from ..sandbox.messages import Caps
from .course_dir import NbgraderCourse
from .preprocessor import SandboxedGrading
from .submissions import check_submission

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_workers() -> int:
    """One grading job per core the grader may use."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class _Job:
    """What a worker process needs to grade one submission as the preprocessor would (plain, picklable data)."""

    course_root: Path
    assignment: str
    student: str
    notebook_path: Path
    staging_root: Path
    seed: int
    require_isolation: bool
    caps: Caps


def prestage(course: NbgraderCourse, assignment: str, students: list[str], records: GradingRecords, *,
             workers: int, force: bool = False) -> int:
    """Grade ``students``' submissions ``workers`` at a time into the staging folder; returns how many were staged.

    With ``workers`` below 2, or ``force`` (nbgrader's run then grades every job itself), nothing is staged.
    """
    staging = records.staging()
    shutil.rmtree(staging.root / assignment, ignore_errors=True)  # nothing staged by an earlier, stopped batch
    if workers < 2 or force:
        return 0
    jobs = [job for student in students if (job := _job_for(course, assignment, student, records)) is not None]
    if len(jobs) < 2:
        return 0
    staged = 0
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of a process that ran torch
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                                 initializer=_die_with_grader, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(_grade_staged, job): job.student for job in jobs}
            for future in as_completed(futures):
                try:
                    staged += future.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:  # the job is graded again in nbgrader's run, which reports the failure
                    log.warning("%s: grading ahead of nbgrader failed (%s); nbgrader's run grades it", futures[future],
                                exc)
    except BrokenProcessPool as exc:
        log.warning("a grading worker stopped (%s); nbgrader's run grades the jobs it did not finish", exc)
    return staged


def _job_for(course: NbgraderCourse, assignment: str, student: str, records: GradingRecords) -> _Job | None:
    """The job to stage for ``student``, or None when nbgrader's run must see the submission first (or reuses it)."""
    folder = course.root / "submitted" / student / assignment
    try:
        check_submission(folder, within=course.root / "submitted")
        notebook = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
        sha = submission_hash(notebook)
    except Exception:  # a refused folder or unreadable notebook: nbgrader's run refuses it, saying why
        return None
    settings = SandboxedGrading(config=course.config())
    root = course.course_root()
    previous = JobResult.load(records.path(assignment, student, assignment))
    if previous is not None and previous.graded and previous.key == (sha, Assignment(assignment, root).suite_version()):
        return None  # nbgrader's run reuses the record
    return _Job(root, assignment, student, folder / f"{assignment}.ipynb", records.staging().root,
                job_seed(records.secret(), assignment, student, sha), settings.require_isolation, settings.caps)


def _die_with_grader(grader_pid: int) -> None:
    """In a worker process: be killed with the grader, and so take its kernels along (bwrap --die-with-parent).

    A grader killed mid-batch must leave no sandboxed process behind; a worker that outlived it would.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != grader_pid:  # the grader died before the line above took effect
        os._exit(1)


def _grade_staged(job: _Job) -> int:
    """In a worker process: grade one submission into the staging folder (1 when a record was written)."""
    notebook = nbformat.read(job.notebook_path, as_version=4)
    result = grade(notebook, Assignment(job.assignment, job.course_root), student=job.student,
                   notebook_name=job.assignment, records=GradingRecords(job.staging_root), seed=job.seed,
                   require_isolation=job.require_isolation, caps=job.caps)
    return int(result.graded)
