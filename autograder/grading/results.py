"""The one result model: what a grading job found, per test and per job.

A `JobResult` is written as JSON beside the course's other grading records
and is the single source for the gradebook scores, the student's feedback and
the reports. Scores are computed from the tests, never stored twice.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path

RESULT_FORMAT = 1
NOT_STORED = frozenset({"reused"})  # what a run says about a result, not what the job found
log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    """How a grading job ended."""

    GRADED = "graded"  # the suite ran: the tests say the score
    FAILED = "failed"  # the grader could not grade it (nbgrader or the course broke); ``error`` says why
    REFUSED = "refused"  # the submission itself was refused before anything read it; ``error`` says what to fix


@dataclass
class TestResult:
    """One hidden test's outcome for one submission."""

    test_id: str
    cell: str
    max_points: float
    points: float
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    duration_s: float = 0.0
    student_error: bool = False

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class CellRecord:
    """How one code cell of the submission ran in the sandbox."""

    index: int
    status: str  # ok | error | timeout | died
    duration_s: float
    error: str = ""
    outputs: list[dict] = field(default_factory=list)


@dataclass
class JobResult:
    """Everything one grading job (student, assignment, notebook) produced."""

    student: str
    assignment: str
    notebook: str
    submission_sha256: str
    suite_version: str
    seed: int
    status: JobStatus = JobStatus.GRADED
    error: str = ""
    started_at: str = ""
    wall_time_s: float = 0.0
    peak_memory_bytes: int = 0
    protections: list[str] = field(default_factory=list)
    sandbox_events: list[str] = field(default_factory=list)
    cells: list[CellRecord] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    cell_max_points: dict[str, float] = field(default_factory=dict)
    format: int = RESULT_FORMAT
    # Why this run reused the stored record instead of grading (empty: graded now). Said by the run, never stored.
    reused: str = field(default="", compare=False)

    @classmethod
    def without_results(cls, student: str, assignment: str, notebook: str, error: str,
                        status: JobStatus = JobStatus.FAILED) -> JobResult:
        """The result of a job that could not grade: no tests, a status and the reason, nothing stored twice."""
        return cls(student=student, assignment=assignment, notebook=notebook, submission_sha256="", suite_version="",
                   seed=0, status=status, error=error)

    @property
    def graded(self) -> bool:
        return self.status == JobStatus.GRADED

    @property
    def key(self) -> tuple[str, str]:
        """Same submission and same suite: the job need not run again."""
        return self.submission_sha256, self.suite_version

    def cell_scores(self) -> dict[str, float]:
        """Points per grade cell of the notebook, capped at the cell's points.

        A test feeding a cell the notebook does not have earns nothing: nbgrader
        could not record it, and `autograder check` reports the mismatch.
        """
        scores = dict.fromkeys(self.cell_max_points, 0.0)
        for test in self.tests:
            if test.cell in scores:
                scores[test.cell] += test.points
        return {cell: min(score, self.cell_max_points[cell]) for cell, score in scores.items()}

    @property
    def score(self) -> float:
        return sum(self.cell_scores().values())

    @property
    def max_score(self) -> float:
        return sum(self.cell_max_points.values())

    def tests_for(self, cell: str) -> list[TestResult]:
        return [t for t in self.tests if t.cell == cell]

    def to_json(self) -> str:
        data = asdict(self)
        for name in NOT_STORED:
            del data[name]
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        """Read a record; a damaged one, or one in a newer format, raises `ValueError` saying which."""
        data = json.loads(text)
        if type(data) is not dict:
            raise ValueError("not a grading record")
        if data.get("format", RESULT_FORMAT) > RESULT_FORMAT:
            raise ValueError(f"record format {data['format']} is newer than this autograder's ({RESULT_FORMAT}): "
                             "upgrade autograder to read it")
        unknown = sorted(set(data) - ({f.name for f in fields(cls)} - NOT_STORED))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)} in a format {RESULT_FORMAT} record")
        data["cells"] = [CellRecord(**c) for c in data.get("cells", [])]
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        data["status"] = JobStatus(data.get("status", JobStatus.GRADED))
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old record or the new one, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w") as stream:
                stream.write(self.to_json())
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> JobResult | None:
        """The record at ``path``; None when there is none, or it is damaged (the job then runs again)."""
        try:
            return cls.from_json(path.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("%s: damaged grading record, the job will run again (%s)", path, exc)
            return None
