"""Identical submissions are graded once (`grading.job`): the seed is the submission's, the record is shared.

The first test grades for real: two students hand in the same a01 notebook,
one kernel runs, both get the same scores. The others check the lookup's
rules on records written here, without a kernel.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat
import pytest

from autograder.course.assignment import Assignment, autograded_cells
from autograder.course.samples import build_submission
from autograder.grading import job
from autograder.grading.job import (
    REUSED_IDENTICAL,
    REUSED_SAME_JOB,
    GradingRecords,
    grade,
    identical_record,
    index_identical,
    job_seed,
    submission_hash,
)
from autograder.grading.results import JobResult, JobStatus
from autograder.selftest.cases import TOY_ROOT

REPO = Path(__file__).resolve().parents[1]
A01 = Assignment("a01_gradient_descent", REPO)


def test_the_seed_is_the_submissions_not_the_students():
    assert job_seed(b"s", "a01", "abc") == job_seed(b"s", "a01", "abc")
    assert len({job_seed(b"s", "a01", "abc"), job_seed(b"s", "a01", "abd"), job_seed(b"s", "a02", "abc"),
                job_seed(b"t", "a01", "abc")}) == 4


@pytest.fixture
def kernels_started(monkeypatch) -> list[int]:
    """Counts the kernels the grading jobs start (the real `StudentKernel`, counted)."""
    started: list[int] = []

    class Counted(job.StudentKernel):
        def __init__(self, *args, **kwargs) -> None:
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(job, "StudentKernel", Counted)
    return started


@pytest.mark.slow
def test_two_identical_a01_submissions_are_graded_once(tmp_path, kernels_started):
    records = GradingRecords(tmp_path / "grading_results")
    carol = build_submission(A01.source_notebook, A01.samples_dir / "carol.py")  # two functions wrong
    twin = nbformat.from_dict(carol)
    twin.cells[0].source += "\n"  # a markdown cell differs; what executes does not

    first = grade(carol, A01, student="ana", notebook_name=A01.id, records=records)
    second = grade(twin, A01, student="bea", notebook_name=A01.id, records=records)
    assert len(kernels_started) == 1
    assert (first.reused, second.reused) == ("", REUSED_IDENTICAL.format(student="ana"))
    assert second.reused == "identical to ana's submission (graded once)"
    assert 0 < first.score == second.score < first.max_score and second.cell_scores() == first.cell_scores()
    assert (second.student, second.notebook, second.seed) == ("bea", A01.id, first.seed)
    stored = JobResult.load(records.path(A01.id, "bea", A01.id))
    assert stored is not None and stored.student == "bea" and stored.score == first.score

    again = grade(twin, A01, student="bea", notebook_name=A01.id, records=records)  # bea's own record now
    assert again.reused == REUSED_SAME_JOB and len(kernels_started) == 1
    forced = grade(twin, A01, student="bea", notebook_name=A01.id, records=records, force=True)
    assert forced.reused == "" and len(kernels_started) == 2
    assert forced.cell_scores() == first.cell_scores() and forced.seed == first.seed


# ----------------------------------------------------------------- the lookup's rules, on stored records


TOY = Assignment("toy", TOY_ROOT)
NOTEBOOK = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])


def stored(records: GradingRecords, student: str, **changes) -> JobResult:
    """A graded record of NOTEBOOK for ``student``, saved and indexed as a grading job would."""
    sha = submission_hash(NOTEBOOK)
    result = JobResult(student, "toy", "toy", sha, TOY.suite_version(), job_seed(records.secret(), "toy", sha),
                       cell_max_points=autograded_cells(NOTEBOOK))
    result = dataclasses.replace(result, **changes)
    result.save(records.path("toy", student, "toy"))
    index_identical(records, result)
    return result


def lookup(records: GradingRecords, student: str) -> JobResult | None:
    sha = submission_hash(NOTEBOOK)
    return identical_record(records, "toy", student, (sha, TOY.suite_version()), autograded_cells(NOTEBOOK),
                            job_seed(records.secret(), "toy", sha))


def test_a_record_staged_ahead_of_nbgraders_run_stands_for_an_identical_submission(tmp_path):
    records = GradingRecords(tmp_path)
    assert records.staging().secret() == records.secret()  # jobs graded ahead of nbgrader's run seed alike
    stored(records.staging(), "ana")
    result = grade(NOTEBOOK, TOY, student="bea", notebook_name="toy", records=records)
    assert result.reused == REUSED_IDENTICAL.format(student="ana") and result.student == "bea"
    # ana's staged record then moves into the records (nbgrader's run adopts it): still found there
    staged = records.staging().path("toy", "ana", "toy")
    records.path("toy", "ana", "toy").parent.mkdir(parents=True)
    staged.rename(records.path("toy", "ana", "toy"))
    assert lookup(records, "cy").student == "ana"


@pytest.mark.parametrize("changes", [
    {"suite_version": "toy-0"},  # graded against another suite
    {"cell_max_points": {"test_double": 3.0}},  # another notebook's cells and points
    {"seed": 7},  # graded under another seed (before seeds were the submission's, or a test's)
    {"status": JobStatus.FAILED},
], ids=["suite", "cell points", "seed", "not graded"])
def test_a_record_that_differs_stands_for_no_one_else(tmp_path, changes):
    records = GradingRecords(tmp_path)
    stored(records, "ana", **changes)
    assert lookup(records, "bea") is None


def test_a_students_own_record_and_a_missing_one_are_not_anothers(tmp_path):
    records = GradingRecords(tmp_path)
    stored(records, "ana")
    assert lookup(records, "ana") is None
    records.path("toy", "ana", "toy").unlink()
    assert lookup(records, "bea") is None
    assert lookup(GradingRecords(tmp_path / "empty"), "bea") is None


def test_the_index_is_no_record(tmp_path):
    """Whatever reads the records as ``*.json`` (nbgrader's read-back, the hub's sharing) never sees the index."""
    records = GradingRecords(tmp_path)
    stored(records, "ana")
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")] == ["toy/ana/toy.json"]
