"""One grading job: a submitted notebook and a hidden suite in, a `JobResult` out.

The job executes the submission in a sandboxed kernel, runs the hidden suite
against it from the trusted process, and records the result where the course
keeps its grading records. Jobs are idempotent: the result is keyed by the
submission's hash and the suite's version, so grading the same submission
with the same suite again reuses the record, and the returned result says so
in ``reused`` (or, forced, reproduces it with the same secret seed).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course.assignment import Assignment, autograded_cells
from ..sandbox.kernel import StudentKernel
from ..sandbox.messages import DEFAULT_CAPS, Caps
from .results import CellRecord, JobResult
from .suite import load_reference, run_suite

log = logging.getLogger(__name__)

REUSED_SAME_JOB = "same submission and suite version"  # why a stored record stands for this run (`JobResult.reused`)


@dataclass(frozen=True)
class GradingRecords:
    """The course's store of job results and its grading secret."""

    root: Path

    def path(self, assignment: str, student: str, notebook: str) -> Path:
        return self.root / assignment / student / f"{notebook}.json"

    def staging(self) -> GradingRecords:
        """Where jobs graded ahead of nbgrader's run (`gradebook.prestage`) wait until that run adopts them."""
        return GradingRecords(self.root / ".staged")

    def secret(self) -> bytes:
        """The course's secret for seeds, created on first use and readable by the grader only."""
        path = self.root / ".secret"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(os.urandom(32).hex().encode())
            except FileExistsError:
                pass  # another grader created it first
        return path.read_bytes().strip()


def submission_hash(notebook: nbformat.NotebookNode) -> str:
    """Hash of what executes: the code cells' sources in order."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode())
            digest.update(b"\0")
    return digest.hexdigest()


def adopt_staged(records: GradingRecords, assignment: str, student: str, notebook: str,
                 key: tuple[str, str], cell_points: dict[str, float]) -> JobResult | None:
    """The job graded ahead of this run for exactly this submission and suite, moved into the records; else None.

    A staged record of another notebook than the one nbgrader hands over (it restores locked cells and their
    points from the source) or of another suite version is left alone, and the job is graded here as usual.
    """
    staged_path = records.staging().path(assignment, student, notebook)
    staged = JobResult.load(staged_path)
    if staged is None or staged.key != key or staged.cell_max_points != cell_points or not staged.graded:
        return None
    staged.save(records.path(assignment, student, notebook))
    staged_path.unlink(missing_ok=True)
    log.info("%s/%s: graded ahead of nbgrader's run, in parallel", student, assignment)
    return staged


def job_seed(secret: bytes, assignment: str, student: str, sha: str) -> int:
    mac = hmac.new(secret, f"{assignment}/{student}/{sha}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "little") & (2**63 - 1)


def grade(notebook: nbformat.NotebookNode, assignment: Assignment, *, student: str, notebook_name: str,
          records: GradingRecords, force: bool = False, seed: int | None = None,
          require_isolation: bool = True, caps: Caps = DEFAULT_CAPS) -> JobResult:
    """Grade one notebook (or reuse its record); raise `SuiteError` rather than grade against a broken suite."""
    sha = submission_hash(notebook)
    suite_version = assignment.suite_version()
    path = records.path(assignment.id, student, notebook_name)
    previous = JobResult.load(path) if not force and seed is None else None
    if previous is not None and previous.key == (sha, suite_version) and previous.graded:
        log.info("%s/%s: reusing the result for this submission and suite", student, assignment.id)
        previous.reused = REUSED_SAME_JOB
        return previous
    cell_points = autograded_cells(notebook)
    staged = None if force or seed is not None else adopt_staged(records, assignment.id, student, notebook_name,
                                                                    (sha, suite_version), cell_points)
    if staged is not None:
        return staged
    if seed is None:
        seed = job_seed(records.secret(), assignment.id, student, sha)
    result = JobResult(student=student, assignment=assignment.id, notebook=notebook_name,
                       submission_sha256=sha, suite_version=suite_version, seed=seed,
                       started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                       cell_max_points=cell_points)
    started = time.monotonic()
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    reference = load_reference(assignment.reference_path)
    with StudentKernel(sources, assignment.limits(), data_dir=assignment.data_dir,
                       require_isolation=require_isolation, caps=caps) as kernel:
        executions = kernel.run_notebook()
        result.protections = [f"{p.name}: {p.detail}" for p in kernel.protections if p.active]
        result.cells = [CellRecord(i, e.status, round(e.duration_s, 3), e.error[-2000:], e.outputs)
                        for i, e in enumerate(executions)]
        result.tests = run_suite(assignment.suite_dir, kernel, reference, seed)
        result.sandbox_events = kernel.events
        result.peak_memory_bytes = kernel.peak_memory_bytes
    result.wall_time_s = round(time.monotonic() - started, 3)
    result.save(path)
    return result
