"""Faults of the grader itself: killed mid-batch, run twice at once, read-only gradebook, full disk."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from autograder.course.samples import fill_solutions
from autograder.gradebook.batch import GradingBlocked, preflight
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.grading.job import GradingRecords
from autograder.grading.results import JobResult
from autograder.sandbox.process import WORKDIR_PREFIX
from autograder.selftest.host import sandbox_processes

from .conftest import TOY_CLASS, TOY_CLASS_SCORES, TOY_ROOT, start_grading, submit, two_grading_runs_at_once

pytestmark = pytest.mark.slow  # real grading runs, killed and restarted

STUDENTS, EXPECTED = TOY_CLASS, TOY_CLASS_SCORES


@pytest.fixture
def class_course(tmp_path, toy_release) -> NbgraderCourse:
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT)
    course.generate("toy")
    for student, solutions in STUDENTS.items():
        submit(course, student, "toy", fill_solutions(toy_release, solutions))
    return course


def submission_rows(course: NbgraderCourse) -> dict[str, int]:
    with sqlite3.connect(course.root / "gradebook.db") as db:
        rows = db.execute("SELECT student.id, COUNT(*) FROM submitted_assignment "
                          "JOIN student ON student.id = submitted_assignment.student_id GROUP BY student.id")
        return dict(rows.fetchall())


@pytest.mark.exclusive  # no sandboxed process may be left on the host: none of another test either
def test_killed_batches_resume_to_the_uninterrupted_gradebook(class_course):
    rng = random.Random(20261122)
    killed = []
    for _ in range(3):
        run = start_grading(class_course)
        time.sleep(rng.uniform(2.0, 12.0))
        run.send_signal(signal.SIGKILL)
        run.wait()
        killed.append(run.pid)
        deadline = time.monotonic() + 10
        while sandbox_processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not sandbox_processes(), "a killed grader left sandboxed processes behind"
    final = start_grading(class_course)
    output, _ = final.communicate(timeout=600)
    assert final.returncode == 0, output
    assert class_course.scores("toy") == EXPECTED
    assert submission_rows(class_course) == {"amy": 1, "bo": 1, "cy": 1}
    records = GradingRecords(class_course.root / "grading_results")
    for student in STUDENTS:
        assert JobResult.load(records.path("toy", student, "toy")).student == student
    assert not list((class_course.root / "grading_results").rglob(".toy.json.*")), "half-written record left"
    left = [path for pid in killed for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}{pid}-*")]
    assert not left, f"kernel folders of killed graders were not swept: {left}"


def test_two_runs_at_once_neither_corrupt_nor_double_count(class_course, tmp_path):
    runs = two_grading_runs_at_once(class_course, "toy", tmp_path)
    assert [code for code, _ in runs] == [0, 0], runs
    assert class_course.scores("toy") == EXPECTED
    assert submission_rows(class_course) == {"amy": 1, "bo": 1, "cy": 1}


def test_read_only_gradebook_is_refused_before_anything_is_written(class_course):
    class_course.autograde("toy", "amy")
    database = class_course.root / "gradebook.db"
    before = database.read_bytes()
    subprocess.run(["mount", "--bind", database, database], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", database], check=True)
        with pytest.raises(GradingBlocked, match=r"gradebook\.db cannot be written"):
            preflight(class_course)
        run = start_grading(class_course)
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 2 and "cannot be written" in output
        assert not (class_course.root / "autograded" / "bo").exists()
    finally:
        subprocess.run(["umount", database], check=True)
    assert database.read_bytes() == before


def test_full_disk_is_refused_and_records_are_never_half_written(tmp_path, class_course):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small], check=True)
    try:
        course = NbgraderCourse(small)
        with pytest.raises(GradingBlocked, match="MiB free"):
            preflight(course)
        record = JobResult("amy", "toy", "toy", "sha", "v1", 1)
        path = small / "records" / "toy.json"
        record.save(path)
        (small / "filler").write_bytes(b"\0" * (4 * 2**20 - path.stat().st_size - 64 * 1024))
        big = JobResult("amy", "toy", "toy", "sha2", "v1", 2, error="x" * 2**20)
        with pytest.raises(OSError):
            big.save(path)
        assert JobResult.load(path).submission_sha256 == "sha"  # the old record is intact
        assert sorted(p.name for p in path.parent.iterdir()) == ["toy.json"]
    finally:
        subprocess.run(["umount", small], check=True)
