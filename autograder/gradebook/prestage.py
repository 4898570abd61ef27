"""Scheduling, in parallel: a class's jobs graded by worker processes ahead of nbgrader's serial run.

nbgrader autogrades one submission at a time, and its gradebook wants one writer. Most of a job's time
is the sandboxed kernel (starting it, importing torch, running the notebook and the hidden suite), not
nbgrader. `prestage` therefore grades the batch's submissions in ``workers`` processes at once, each job
exactly as the `SandboxedGrading` preprocessor would grade it (same course settings, same secret seed),
and leaves each record in the staging folder of the course's grading records. nbgrader's run then
goes through the students one by one as before; for each, the preprocessor adopts the staged record
when it is for exactly the notebook nbgrader hands over and the current suite (`grading.job.adopt_staged`),
and grades the job itself otherwise. The gradebook therefore ends with the scores a serial run gives.

Identical submissions (the same code, so the same hash; the same suite) are graded once: only the first
student of the batch with that hash gets a job, and nbgrader's run gives the others a copy of that record
(`grading.job.grade` reuses another student's record of the same submission and suite). The seed depends
on the submission, not on the student, so the copy is exactly the grade the student's own job would get.

With a Ray cluster configured (``--ray``, or ``c.SandboxedGrading.ray_address`` in the course's
nbgrader_config.py), the same jobs run there as Ray tasks (`ray_jobs`) instead of in local processes.

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
from ..sandbox.host import parallel_jobs, share_cores
from ..sandbox.messages import Caps
from .course_dir import NbgraderCourse
from .preprocessor import SandboxedGrading
from .ray_jobs import grade_on_ray
from .submissions import check_submission

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


# One grading job per core the grader may use; for a GPU assignment, no more than share the GPU's memory.
default_workers = parallel_jobs


@dataclass(frozen=True)
class _Job:
    """What a worker process or Ray node needs to grade one submission as the preprocessor would (plain data).

    The notebook travels in the job (the one hashed here), so a node needs the course tree but not the
    nbgrader course directory.
    """

    course_root: Path
    assignment: str
    student: str
    notebook: str
    staging_root: Path
    seed: int
    require_isolation: bool
    caps: Caps


def prestage(course: NbgraderCourse, assignment: str, students: list[str], records: GradingRecords, *,
             workers: int, force: bool = False, ray_address: str | None = None) -> int:
    """Grade ``students``' submissions ahead of nbgrader's run into the staging folder; returns how many were staged.

    On the Ray cluster at ``ray_address`` (None: the course's ``SandboxedGrading.ray_address``; "" or None
    there: no cluster), else ``workers`` at a time in local processes; locally with ``workers`` below 2, nothing
    is staged. With ``force`` every distinct submission is graded again, records or not.
    """
    staging = records.staging()
    shutil.rmtree(staging.root / assignment, ignore_errors=True)  # nothing staged by an earlier, stopped batch
    settings = SandboxedGrading(config=course.config())
    address = settings.ray_address if ray_address is None else ray_address
    if not address and workers < 2:
        return 0
    jobs = _jobs_for(course, assignment, students, records, settings, force=force)
    if address:  # even one job: the cluster may have the GPU this machine lacks
        if not jobs:
            return 0
        limits = Assignment(assignment, course.course_root()).limits()
        return grade_on_ray(address, jobs, grade_job, staging, threads=limits.threads, gpu=limits.gpu)
    if len(jobs) < 2:
        return 0
    return _grade_in_processes(jobs, workers)


def _grade_in_processes(jobs: list[_Job], workers: int) -> int:
    staged = 0
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of a process that ran torch
    try:
        workers = min(workers, len(jobs))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_start_worker, initargs=(os.getpid(), workers)) as pool:
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


def _jobs_for(course: NbgraderCourse, assignment: str, students: list[str], records: GradingRecords,
              settings: SandboxedGrading, *, force: bool = False) -> list[_Job]:
    """One job per distinct submission not graded yet (``force``: graded or not): the first student (in the
    batch's order) with its hash.

    nbgrader's run goes through the students in the same order, so the first adopts the staged record and
    the others reuse it, as they reuse a record already in the course's (their own or another student's).
    """
    root = course.course_root()
    suite_version = Assignment(assignment, root).suite_version()
    secret = records.secret()
    jobs, seen = [], set()
    for student in students:
        notebook_path = course.root / "submitted" / student / assignment / f"{assignment}.ipynb"
        try:
            check_submission(notebook_path.parent, within=course.root / "submitted")
            notebook = nbformat.read(notebook_path, as_version=4)
            sha = submission_hash(notebook)
        except Exception:  # a refused folder or unreadable notebook: nbgrader's run refuses it, saying why
            continue
        if sha in seen:
            continue
        seen.add(sha)
        previous = JobResult.load(records.path(assignment, student, assignment))
        if not force and previous is not None and previous.graded and previous.key == (sha, suite_version):
            continue  # nbgrader's run reuses the record (and so do later students with the same submission)
        jobs.append(_Job(root, assignment, student, nbformat.writes(notebook), staging_root=records.staging().root,
                         seed=job_seed(secret, assignment, sha), require_isolation=settings.require_isolation,
                         caps=settings.caps))
    return jobs


def _start_worker(grader_pid: int, workers: int) -> None:
    """In a worker process: die with the grader, and use only its share of the cores for the grader's own work."""
    _die_with_grader(grader_pid)
    share_cores(workers)


def _die_with_grader(grader_pid: int) -> None:
    """In a worker process: be killed with the grader, and so take its kernels along (bwrap --die-with-parent).

    A grader killed mid-batch must leave no sandboxed process behind; a worker that outlived it would.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != grader_pid:  # the grader died before the line above took effect
        os._exit(1)


def grade_job(job: _Job, records: GradingRecords) -> JobResult:
    """Grade one submission into ``records`` exactly as the preprocessor would (in a worker or on a Ray node)."""
    notebook = nbformat.reads(job.notebook, as_version=4)
    return grade(notebook, Assignment(job.assignment, job.course_root), student=job.student,
                 notebook_name=job.assignment, records=records, seed=job.seed,
                 require_isolation=job.require_isolation, caps=job.caps)


def _grade_staged(job: _Job) -> int:
    """In a worker process: grade one submission into the staging folder (1 when a record was written)."""
    return int(grade_job(job, GradingRecords(job.staging_root)).graded)
