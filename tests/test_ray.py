"""Grading on a Ray cluster (`gradebook.ray_jobs`): a local cluster of worker processes grades a01's class.

The cluster is a real one (``ray start --head``, its own worker processes), the grading real
(sandboxed kernels, nbgrader's run adopting the records). A watcher kills Ray's worker processes mid-job,
found by their process title (``ray::grade <student>/<assignment>``, the task's name).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from autograder.course.assignment import Assignment
from autograder.course.samples import build_submission, expected_scores, write_submission
from autograder.gradebook.batch import grade_batch
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.gradebook.prestage import prestage
from autograder.gradebook.ray_jobs import MAX_RETRIES, RayUnavailable, remove_folders_of_dead_workers
from autograder.grading.job import GradingRecords

from .conftest import REPO

ASSIGNMENT = Assignment("a01_gradient_descent", REPO)
STUDENTS = ["alice", "carol", "erin", "karl"]  # four different gradebooks
KILLED_ONCE = "carol"  # its worker is killed mid-job once: Ray grades it again
DOOMED = "erin"  # its worker is killed on every try: Ray gives up, nbgrader's run grades it here
RAY = Path(sys.executable).parent / "ray"


def free_port(first: int, last: int) -> int:
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last} for the test's Ray cluster")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, psutil.Process]]:
    """A Ray cluster of this machine started for the module: its address and head process.

    4 CPUs as Ray counts them: a01's jobs reserve their 2 threads each, so two jobs grade at once (on 2 cores).
    """
    temp = tempfile.mkdtemp(prefix="ag-ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 characters
    # Ports of this project's tests (18400-18499): the head's, its agent's, and its workers' (Ray's default
    # range for workers, 10002-19999, would hold the head's).
    port, agent = free_port(18400, 18409), free_port(18410, 18419)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with open(Path(temp) / "head.log", "w") as log:
        head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--num-cpus", "4", "--num-gpus", "0",
                                 "--port", str(port), "--dashboard-agent-listen-port", str(agent),
                                 "--min-worker-port", "18420", "--max-worker-port", "18499",
                                 "--include-dashboard", "false", "--disable-usage-stats",
                                 "--temp-dir", temp],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process = psutil.Process(head.pid)
    try:
        address = f"127.0.0.1:{port}"
        for _ in range(600):  # `ray start` says so once the head's processes (and its node) are up
            if "Ray runtime started" in (Path(temp) / "head.log").read_text():
                break
            assert head.poll() is None, (Path(temp) / "head.log").read_text()[-3000:]
            time.sleep(0.2)
        else:
            pytest.fail(f"the test's Ray cluster did not start: {(Path(temp) / 'head.log').read_text()[-3000:]}")
        yield address, process
    finally:
        stop_cluster(head, process, temp)


def stop_cluster(head: subprocess.Popen, process: psutil.Process, temp: str) -> None:
    """Stop every process the cluster started (its session's process group and the head's descendants)."""
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    head.send_signal(signal.SIGTERM)  # --block: the head stops the cluster's processes
    try:
        head.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
        os.killpg(head.pid, signal.SIGKILL)
    for member in family:
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(family, timeout=10)
    head.wait(timeout=10)
    left = [p.pid for p in psutil.process_iter(["cmdline"]) if temp in " ".join(p.info["cmdline"] or [])]
    shutil.rmtree(temp, ignore_errors=True)
    remove_folders_of_dead_workers()  # the job folder of the last worker killed mid-job
    assert not left, f"the test's Ray cluster left processes behind: {left}"


class WorkerKiller(threading.Thread):
    """Kills the cluster's worker process grading a student, ``kills[student]`` times at most."""

    def __init__(self, head: psutil.Process, kills: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.head, self.budget = head, kills
        self.killed: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        seen: dict[int, float] = {}
        while not self.stop.wait(0.05):
            for worker in self.head.children(recursive=True):
                with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                    title = (worker.cmdline() or [""])[0]
                    student = title.removeprefix("ray::grade ").split("/")[0] if title.startswith("ray::grade ") \
                        else None
                    if student is None or self.killed[student] >= self.budget.get(student, 0):
                        continue
                    # Mid-job: its sandboxed kernel is running (or it has been grading for a second); a
                    # job that crashes its worker for good does so as soon as it starts.
                    first = seen.setdefault(worker.pid, time.monotonic())
                    if student == DOOMED or worker.children() or time.monotonic() - first > 1:
                        worker.kill()
                        self.killed[student] += 1


@pytest.mark.slow
def test_a_ray_cluster_grades_like_local_workers_and_loses_no_job(ray_cluster, tmp_path, caplog):
    address, head = ray_cluster
    course = NbgraderCourse.create(tmp_path / "course", REPO)
    release = course.generate(ASSIGNMENT.id) / f"{ASSIGNMENT.id}.ipynb"
    for student in STUDENTS:
        write_submission(course.root / "submitted", student, ASSIGNMENT.id,
                         build_submission(release, ASSIGNMENT.samples_dir / f"{student}.py"))
    # ann hands in alice's notebook: graded once on the cluster, for alice; ann's is a copy of that record.
    write_submission(course.root / "submitted", "ann", ASSIGNMENT.id,
                     build_submission(release, ASSIGNMENT.samples_dir / "alice.py"))
    with open(course.root / "nbgrader_config.py", "a") as config:  # the course config names the cluster
        config.write(f"\nc.SandboxedGrading.ray_address = {json.dumps(address)}\n")
    killer = WorkerKiller(head, {KILLED_ONCE: 1, DOOMED: MAX_RETRIES + 1})
    killer.start()
    try:
        with caplog.at_level(logging.INFO, logger="autograder"):
            outcomes = grade_batch(course, ASSIGNMENT.id, [*STUDENTS, "ann"], workers=1)  # Ray, whatever the workers
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed == {KILLED_ONCE: 1, DOOMED: MAX_RETRIES + 1}
    # The same gradebook as local grading gives (the sample class's expected scores), every record kept.
    expected = expected_scores(ASSIGNMENT.samples_dir)
    expected["ann"] = expected["alice"]
    assert course.scores(ASSIGNMENT.id) == {student: expected[student]["cells"] for student in [*STUDENTS, "ann"]}
    assert all(outcome.graded for outcome in outcomes.values())
    records = GradingRecords(course.root / "grading_results")
    assert all(records.path(ASSIGNMENT.id, s, ASSIGNMENT.id).is_file() for s in [*STUDENTS, "ann"])
    messages = [record.getMessage() for record in caplog.records]
    adopted = sorted(m.split("/")[0] for m in messages if "graded ahead of nbgrader's run" in m)
    assert adopted == sorted(set(STUDENTS) - {DOOMED})  # the killed-once job was retried on the cluster
    assert any(m.startswith(f"{DOOMED}: grading on the Ray cluster failed") for m in messages)  # then graded here
    assert f"ann/{ASSIGNMENT.id}: identical to alice's submission, graded once" in messages


def test_an_unreachable_cluster_is_refused_in_seconds_saying_what_to_do(toy_course):
    with socket.socket() as probe:  # a port nobody listens at
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    records = GradingRecords(toy_course.root / "grading_results")
    (toy_course.root / "submitted" / "amy" / "toy").mkdir(parents=True)
    (toy_course.root / "submitted" / "amy" / "toy" / "toy.ipynb").write_text(
        (toy_course.root / "release" / "toy" / "toy.ipynb").read_text())
    with pytest.raises(RayUnavailable, match=r"cannot reach the Ray cluster at .*refused.*`ray start --head`"):
        prestage(toy_course, "toy", ["amy"], records, workers=1, ray_address=address)
