"""The result record of a job (autograder/grading/results.py): scores, JSON, atomic saves."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.grading import results
from autograder.grading.results import RESULT_FORMAT, CellRecord, JobResult, JobStatus
from autograder.grading.results import TestResult as HiddenTest  # (not a pytest class)


def record(**changes) -> JobResult:
    tests = [
        HiddenTest("TestDouble::test_values", "test_double", 2.0, 2.0, "passed", duration_s=0.1),
        HiddenTest("TestDouble::test_float64", "test_double", 2.0, 0.0, "failed", "dtype differs", 0.2),
        HiddenTest("test_square", "test_square", 1.0, 1.0, "passed"),
        HiddenTest("test_square_again", "test_square", 1.0, 1.0, "passed"),  # more than the cell's one point
        HiddenTest("test_raise", "test_square", 1.0, 0.0, "error", "boom", student_error=True),
    ]
    cells = [CellRecord(0, "ok", 0.5, outputs=[{"output_type": "stream", "name": "stdout", "text": "hi\n"}]),
             CellRecord(1, "timeout", 3.0, error="ran past 3 s")]
    base = dict(student="amy", assignment="toy", notebook="toy", submission_sha256="abc", suite_version="v1+123",
                seed=42, started_at="2026-11-20T12:00:00", wall_time_s=4.5, peak_memory_bytes=2**20,
                protections=["namespaces (bwrap)"], sandbox_events=["cell 2 ran past its time limit"],
                cells=cells, tests=tests, cell_max_points={"test_double": 3.0, "test_square": 1.0, "test_empty": 2.0})
    return JobResult(**{**base, **changes})


# ----------------------------------------------------------------- scores


def test_cell_scores_are_summed_per_cell_and_capped_at_the_cells_points():
    result = record()
    assert result.cell_scores() == {"test_double": 2.0, "test_square": 1.0, "test_empty": 0.0}
    assert result.score == 3.0
    assert result.max_score == 6.0


def test_a_cell_whose_tests_earn_less_than_its_points_keeps_what_they_earned():
    result = record(cell_max_points={"test_double": 10.0, "test_square": 5.0})
    assert result.cell_scores() == {"test_double": 2.0, "test_square": 2.0}
    assert (result.score, result.max_score) == (4.0, 15.0)


def test_no_tests_score_zero_in_every_cell():
    result = record(tests=[])
    assert result.cell_scores() == {"test_double": 0.0, "test_square": 0.0, "test_empty": 0.0}
    assert result.score == 0.0 and result.max_score == 6.0


def test_tests_for_a_cell_in_suite_order():
    result = record()
    assert [t.test_id for t in result.tests_for("test_square")] == ["test_square", "test_square_again", "test_raise"]
    assert result.tests_for("test_empty") == [] and result.tests_for("nowhere") == []
    assert [t.passed for t in result.tests_for("test_double")] == [True, False]


def test_key_is_submission_and_suite():
    assert record().key == ("abc", "v1+123")


def test_a_job_without_results_is_not_graded_and_scores_nothing():
    failed = JobResult.without_results("bea", "toy", "toy", "nbgrader broke")
    assert failed.status is JobStatus.FAILED and not failed.graded
    assert failed.error == "nbgrader broke"
    assert failed.tests == [] and failed.cells == [] and failed.cell_scores() == {}
    assert failed.score == 0.0 and failed.max_score == 0.0
    refused = JobResult.without_results("cal", "toy", "toy", "notebook over 25 MiB", status=JobStatus.REFUSED)
    assert refused.status is JobStatus.REFUSED and not refused.graded
    assert (refused.student, refused.assignment, refused.notebook) == ("cal", "toy", "toy")
    assert record().graded and record().status is JobStatus.GRADED


# ----------------------------------------------------------------- JSON


def test_json_round_trip_is_exact_and_status_is_a_job_status():
    for status in JobStatus:
        original = record(status=status, error="why" if status != JobStatus.GRADED else "")
        again = JobResult.from_json(original.to_json())
        assert again == original
        assert type(again.status) is JobStatus and again.status is status
        assert all(type(t) is HiddenTest for t in again.tests)
        assert all(type(c) is CellRecord for c in again.cells)
        assert again.score == original.score and again.cell_scores() == original.cell_scores()


def test_json_is_plain_sorted_and_carries_the_format():
    data = json.loads(record().to_json())
    assert data["format"] == RESULT_FORMAT
    assert data["status"] == "graded"
    assert list(data) == sorted(data)
    assert data["tests"][1] == {"test_id": "TestDouble::test_float64", "cell": "test_double", "max_points": 2.0,
                                "points": 0.0, "outcome": "failed", "message": "dtype differs", "duration_s": 0.2,
                                "student_error": False}
    assert "score" not in data  # computed from the tests, never stored twice


def test_a_record_without_status_reads_as_graded():
    data = json.loads(record().to_json())
    del data["status"]
    assert JobResult.from_json(json.dumps(data)).status is JobStatus.GRADED


def test_without_results_round_trips():
    refused = JobResult.without_results("cal", "toy", "toy", "too big", status=JobStatus.REFUSED)
    assert JobResult.from_json(refused.to_json()) == refused


# ----------------------------------------------------------------- save and load


def test_save_then_load(tmp_path):
    path = tmp_path / "records" / "toy" / "amy" / "toy.json"  # parents are made
    original = record()
    original.save(path)
    assert JobResult.load(path) == original
    assert sorted(p.name for p in path.parent.iterdir()) == ["toy.json"]


def test_load_of_a_missing_record_is_none(tmp_path):
    assert JobResult.load(tmp_path / "nothing.json") is None
    assert JobResult.load(tmp_path / "no" / "such" / "folder.json") is None


def test_save_replaces_the_old_record_whole(tmp_path):
    path = tmp_path / "toy.json"
    record(error="x" * 100_000).save(path)
    record(seed=7).save(path)
    loaded = JobResult.load(path)
    assert loaded.seed == 7 and loaded.error == ""


@pytest.mark.parametrize("breaks", ["serialising", "writing", "syncing", "renaming"])
def test_a_failed_save_leaves_the_old_record_intact_and_no_temporary_file(tmp_path, monkeypatch, breaks):
    path = tmp_path / "toy.json"
    old = record(submission_sha256="old")
    old.save(path)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if breaks == "serialising":
        monkeypatch.setattr(JobResult, "to_json", fail)
    elif breaks == "writing":
        monkeypatch.setattr(JobResult, "to_json", lambda self: "{" + "x" * 2**20 + "\udcff")  # not encodable
    elif breaks == "syncing":
        monkeypatch.setattr(results.os, "fsync", fail)
    else:
        monkeypatch.setattr(results.os, "replace", fail)
    with pytest.raises((OSError, UnicodeError)):
        record(submission_sha256="new").save(path)
    monkeypatch.undo()
    assert JobResult.load(path) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.json"]


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder`` read-only for this process: by its mode, or for root (whom modes do not stop) a read-only mount."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("mount") is None or subprocess.run(["mount", "--bind", folder, folder],
                                                       capture_output=True).returncode != 0:
        pytest.skip("root, and no bind mount to make a folder read-only")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", folder], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", folder], check=True)


def test_a_read_only_folder_refuses_the_save_and_keeps_the_old_record(tmp_path):
    folder = tmp_path / "records"
    path = folder / "toy.json"
    old = record(submission_sha256="old")
    old.save(path)
    with read_only(folder):
        with pytest.raises(OSError):  # PermissionError, or EROFS under a read-only mount
            record(submission_sha256="new").save(path)
        assert JobResult.load(path) == old
        assert sorted(p.name for p in folder.iterdir()) == ["toy.json"]
    assert JobResult.load(path) == old


def test_saving_over_a_folder_fails_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "toy.json"
    path.mkdir()
    (path / "inside").write_text("kept")
    with pytest.raises(OSError):
        record().save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.json"]
    assert (path / "inside").read_text() == "kept"


def test_saving_where_a_file_blocks_the_folder_fails(tmp_path):
    blocker = tmp_path / "records"
    blocker.write_text("not a folder")
    with pytest.raises(OSError):
        record().save(blocker / "toy.json")
    assert blocker.read_text() == "not a folder"


def test_record_files_are_json_a_reader_can_parse(tmp_path):
    path = Path(tmp_path / "toy.json")
    record().save(path)
    assert json.loads(path.read_text())["student"] == "amy"


def test_a_test_feeding_a_cell_the_notebook_lacks_earns_nothing():
    result = record(cell_max_points={"test_double": 3.0})
    assert set(result.cell_scores()) == {"test_double"}
    assert result.score <= result.max_score == 3.0


def test_damaged_or_newer_records_are_reported_and_graded_again(tmp_path):
    path = tmp_path / "toy.json"
    data = json.loads(record().to_json())
    with pytest.raises(ValueError, match="newer than this autograder"):
        JobResult.from_json(json.dumps({**data, "format": 99}))
    with pytest.raises(ValueError, match="unknown field"):
        JobResult.from_json(json.dumps({**data, "surprise": 1}))
    for damaged in ("[1, 2]", '{"student": "amy"}', json.dumps({**data, "surprise": 1})):
        path.write_text(damaged)
        assert JobResult.load(path) is None


def test_reused_is_said_by_the_run_and_never_stored(tmp_path):
    reused = record(reused="same submission and suite version")
    data = json.loads(reused.to_json())
    assert "reused" not in data and data["format"] == RESULT_FORMAT
    again = JobResult.from_json(reused.to_json())
    assert again.reused == "" and again == reused  # what the job found is the same; how the run got it is not
    path = tmp_path / "toy.json"
    reused.save(path)
    assert JobResult.load(path).reused == ""
    with pytest.raises(ValueError, match="unknown field"):
        JobResult.from_json(json.dumps({**data, "reused": "forged"}))
