"""Scheduling on a Ray cluster: the jobs `prestage` grades ahead of nbgrader's run, as Ray tasks.

When a course names a Ray cluster (``c.SandboxedGrading.ray_address``, or ``--ray`` on ``autograder grade``
and ``demo``), `prestage` hands its jobs here instead of to its local worker processes. Each job is one Ray
task that reserves the assignment's ``threads`` as CPUs and, for an assignment with ``gpu = true`` on a
cluster that has GPUs, one GPU. The task grades the submission on whichever node Ray picks, into a folder
of its own, and returns the record's data; this process (the driver) writes it into the staging folder,
so the nodes never write the course's records (they read the course tree and the submitted notebook at the
same paths as here: see docs/scale-out.md).

A worker that dies mid-job (killed, out of memory, its node lost) is retried by Ray up to `MAX_RETRIES`
times. A job that still fails, like a local job that fails, is left to nbgrader's run, which grades it on
this machine and reports what went wrong: one submission never takes the batch down.

Ray is imported only here and only when a cluster is configured: the local process pool needs none of it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..course.assignment import CourseError
from ..grading.job import GradingRecords, index_identical
from ..grading.results import JobResult

log = logging.getLogger(__name__)

LOCAL = "local"  # ray_address meaning: start a Ray cluster of this machine's cores for the batch, then stop it
MAX_RETRIES = 2  # attempts after a worker died mid-job (killed, out of memory, its node gone)
CONNECT_TIMEOUT_S = 10
JOB_FOLDER_PREFIX = "autograder-rayjob-"  # + the worker's pid: a task's records before they go to the driver


class RayJob(Protocol):
    """What `grade_on_ray` reads of a job (prestage's ``_Job``); the whole job travels to the node as is."""

    assignment: str
    student: str
    seed: int


class RayUnavailable(CourseError):
    """A Ray cluster was asked for but cannot be used; nothing was graded on it."""


def grade_on_ray(address: str, jobs: Sequence[RayJob], grade_job: Callable[[Any, GradingRecords], JobResult],
                 staging: GradingRecords, *, threads: int, gpu: bool) -> int:
    """Grade ``jobs`` as Ray tasks on the cluster at ``address``; write each record into ``staging``.

    ``grade_job(job, records)`` runs on a node and grades one job into ``records``; it must be a module-level
    function (Ray sends it by name). Returns how many records were staged. A job that fails for good is
    logged and left to nbgrader's run; an unreachable cluster raises `RayUnavailable`.
    """
    ray = _import_ray(address)
    session = _connect(ray, address)
    try:
        cpus = _cpus_per_job(ray, threads, address)
        gpus = 1 if gpu and ray.cluster_resources().get("GPU", 0) >= 1 else 0
        if gpu and not gpus:
            log.warning("the assignment asks for a GPU but the Ray cluster at %s has none: grading on CPUs", address)
        task = ray.remote(_graded_on_node)
        pending = {task.options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES, retry_exceptions=False,
                                # the task's name is its worker's process title: `ray::grade amy/a01`
                                name=f"grade {job.student}/{job.assignment}").remote(grade_job, job): job
                   for job in jobs}
        staged = 0
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done)
            try:
                result = JobResult.from_json(ray.get(done))
            except Exception as exc:  # a worker that died MAX_RETRIES + 1 times, or the job's own error
                log.warning("%s: grading on the Ray cluster failed (%s); nbgrader's run grades it", job.student,
                            _first_line(exc))
                continue
            if (result.student, result.assignment, result.seed) != (job.student, job.assignment, job.seed):
                log.warning("%s: the Ray cluster sent back a record of another job (%s/%s); nbgrader's run grades "
                            "it", job.student, result.student, result.assignment)
                continue
            if result.graded:
                # The driver's own names for the record, never the node's: a node writes nothing of the course.
                result.save(staging.path(job.assignment, job.student, job.assignment))
                # Graded under the course's seed for this submission (prestage's): it stands for identical
                # submissions, which nbgrader's run finds through the index (the node's folder had none).
                index_identical(staging, result)
                staged += 1
        return staged
    finally:
        session.close()


def _graded_on_node(grade_job: Callable[[Any, GradingRecords], JobResult], job: RayJob) -> str:
    """On a Ray worker: grade ``job`` into a folder of this task's own and return the record (JSON)."""
    remove_folders_of_dead_workers()
    with tempfile.TemporaryDirectory(prefix=f"{JOB_FOLDER_PREFIX}{os.getpid()}-") as folder:
        return grade_job(job, GradingRecords(Path(folder))).to_json()


def remove_folders_of_dead_workers() -> None:
    """The job folders of workers killed mid-job (nothing else removes them): named after their worker's pid."""
    for folder in Path(tempfile.gettempdir()).glob(f"{JOB_FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(JOB_FOLDER_PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _import_ray(address: str) -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"the course grades on the Ray cluster {address!r}, but Ray is not installed in this "
                             "Python environment: install it (`pip install 'ray==2.58.0'`, the same version on "
                             "every node), or grade without Ray (drop --ray and c.SandboxedGrading.ray_address)"
                             ) from None
    return ray


class _Session:
    """This process's connection to the cluster; closing it stops a cluster started for the batch."""

    def __init__(self, ray: Any, temp_dir: str | None, owned: bool) -> None:
        self.ray, self.temp_dir, self.owned = ray, temp_dir, owned

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def _connect(ray: Any, address: str) -> _Session:
    if ray.is_initialized():  # a program that embeds the grader and connected already: use its cluster
        return _Session(ray, None, owned=False)
    # Nothing leaves the machine: no usage report, no dashboard (its web server), logs in a folder of ours.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    temp_dir = None
    try:
        _check_reachable(address)
        if address == LOCAL:
            # Short (/tmp, not the course): Ray's socket paths must fit in 107 characters.
            temp_dir = tempfile.mkdtemp(prefix="autograder-raycluster-", dir="/tmp")
            ray.init(include_dashboard=False, _temp_dir=temp_dir, **quiet)
        elif address.startswith("ray://"):  # Ray Client: the cluster's head runs the driver's side
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(address=address, **quiet)
    except Exception as exc:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise RayUnavailable(f"cannot reach the Ray cluster at {address!r} ({_first_line(exc)}): start it "
                             "(`ray start --head` on its head node, see docs/scale-out.md) and give its address "
                             "(HOST:PORT, ray://HOST:PORT, \"auto\" for the one this machine belongs to, or "
                             "\"local\" for a cluster of this machine's cores)") from None
    return _Session(ray, temp_dir, owned=True)


def _check_reachable(address: str) -> None:
    """Fail in seconds on a HOST:PORT nobody listens at (``ray.init`` waits minutes for it, retrying)."""
    if address in (LOCAL, "auto"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{address!r} is not HOST:PORT")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
        pass


def _cpus_per_job(ray: Any, threads: int, address: str) -> int:
    """The assignment's threads, as CPUs, capped at the largest node's (Ray would never place a bigger task)."""
    largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)
    if largest < 1:
        raise RayUnavailable(f"the Ray cluster at {address!r} has no node with a CPU to grade on: start its nodes "
                             "with CPUs (`ray start --num-cpus N`)")
    if threads > largest:
        log.warning("the assignment's jobs want %d CPUs but the largest node of the Ray cluster has %d: each job "
                    "reserves %d", threads, int(largest), int(largest))
    return max(1, min(threads, int(largest)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
