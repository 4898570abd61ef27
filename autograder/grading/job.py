"""One grading job: a submitted notebook and a hidden suite in, a `JobResult` out.

The job executes the submission in a sandboxed kernel, runs the hidden suite
against it from the trusted process, and records the result where the course
keeps its grading records. Jobs are idempotent: the result is keyed by the
submission's hash and the suite's version, so grading the same submission
with the same suite again reuses the record, and the returned result says so
in ``reused`` (or, forced, reproduces it with the same secret seed).

The secret seed depends on the submission, not on the student: identical
submissions get identical hidden inputs, so one grading stands for them all.
A student whose notebook is identical to a classmate's already graded one
gets a copy of that record under their own name (``reused`` says whose);
each graded record is indexed by its hash (``<assignment>/.identical/<sha>``)
so that the lookup costs one small file, not a read of the whole class.

A student's code that runs the GPU out of memory is the student's outcome,
not the grader's failure: the cell's error, the test's message and the
sandbox's events say so with the job's cap and what to do (`messages`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course.assignment import Assignment, autograded_cells
from ..sandbox.kernel import StudentKernel
from ..sandbox.messages import (
    DEFAULT_CAPS,
    GPU_OUT_OF_MEMORY,
    Caps,
    gpu_memory_advice,
    gpu_memory_note,
    gpu_out_of_memory,
)
from .results import CellRecord, JobResult
from .suite import load_reference, run_suite

log = logging.getLogger(__name__)

STAGING = ".staged"  # the records' folder of jobs graded ahead of nbgrader's run
REUSED_SAME_JOB = "same submission and suite version"  # why a stored record stands for this run (`JobResult.reused`)
REUSED_IDENTICAL = "identical to {student}'s submission (graded once)"  # another student's record stands for it
IDENTICAL_INDEX = ".identical"  # <records>/<assignment>/.identical/<sha>: whose graded record holds that submission


@dataclass(frozen=True)
class GradingRecords:
    """The course's store of job results and its grading secret."""

    root: Path

    def path(self, assignment: str, student: str, notebook: str) -> Path:
        return self.root / assignment / student / f"{notebook}.json"

    def staging(self) -> GradingRecords:
        """Where jobs graded ahead of nbgrader's run (`gradebook.prestage`) wait until that run adopts them."""
        return GradingRecords(self.root / STAGING)

    def secret(self) -> bytes:
        """The course's secret for seeds, created on first use and readable by the grader only.

        The staging folder's is the records' own: a job graded ahead of nbgrader's run has the seed that
        run would give it, so its record stands for identical submissions too.
        """
        if self.root.name == STAGING:
            return GradingRecords(self.root.parent).secret()
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


def job_seed(secret: bytes, assignment: str, sha: str) -> int:
    """The secret seed of a job: the submission's (identical submissions share it, and so one grading)."""
    mac = hmac.new(secret, f"{assignment}/{sha}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:8], "little") & (2**63 - 1)


def index_identical(records: GradingRecords, result: JobResult) -> None:
    """Note where the graded record of ``result``'s submission lives, for the next identical submission."""
    entry = records.root / result.assignment / IDENTICAL_INDEX / result.submission_sha256
    entry.parent.mkdir(parents=True, exist_ok=True)
    partial = entry.with_name(f".{entry.name}.{os.getpid()}")
    partial.write_text(json.dumps({"student": result.student, "notebook": result.notebook}))
    os.replace(partial, entry)  # whole or absent, whatever another job reads at the same time


def identical_record(records: GradingRecords, assignment: str, student: str, key: tuple[str, str],
                     cell_points: dict[str, float], seed: int, *, this_batch_only: bool = False) -> JobResult | None:
    """Another student's graded record of the same submission, suite, cell points and seed, else None.

    Looked up through the index of the records and of their staging folder (only the latter, graded in this
    batch, with ``this_batch_only``: a forced regrade); the record itself may since have moved from the
    staging folder into the records (`adopt_staged`), so both are tried.
    """
    stores = (records, records.staging())
    for store in stores[1:] if this_batch_only else stores:
        try:
            entry = json.loads((store.root / assignment / IDENTICAL_INDEX / key[0]).read_text())
            other, notebook = str(entry["student"]), str(entry["notebook"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if other == student:
            continue
        for where in stores:
            found = JobResult.load(where.path(assignment, other, notebook))
            if (found is not None and found.graded and found.key == key and found.student == other
                    and found.cell_max_points == cell_points and found.seed == seed):
                return found
    return None


def note_gpu_memory(result: JobResult, cap_mb: int) -> None:
    """Tell a cell or test that ran the GPU out of memory from any other failure, with the cap and what to do."""
    advice, note = gpu_memory_advice(cap_mb), gpu_memory_note(cap_mb)
    for cell in result.cells:
        if cell.status == "error" and gpu_out_of_memory(cell.error):
            cell.error = f"{advice}\n\n{cell.error}"
            result.sandbox_events.append(f"cell {cell.index + 1}: {note}")
    for test in result.tests:
        if test.student_error and GPU_OUT_OF_MEMORY in test.message:
            test.message = test.message.replace(GPU_OUT_OF_MEMORY, advice, 1)
            result.sandbox_events.append(f"{test.test_id}: {note}")


def grade(notebook: nbformat.NotebookNode, assignment: Assignment, *, student: str, notebook_name: str,
          records: GradingRecords, force: bool = False, seed: int | None = None,
          require_isolation: bool = True, caps: Caps = DEFAULT_CAPS) -> JobResult:
    """Grade one notebook (or reuse its record); raise `SuiteError` rather than grade against a broken suite."""
    sha = submission_hash(notebook)
    suite_version = assignment.suite_version()
    path = records.path(assignment.id, student, notebook_name)
    cell_points = autograded_cells(notebook)
    previous = JobResult.load(path) if not force and seed is None else None
    # A re-release that changed a grade cell's points changes what the record's scores are out of: grade again.
    if previous is not None and previous.key == (sha, suite_version) and previous.graded and (
            previous.cell_max_points == cell_points):
        log.info("%s/%s: reusing the result for this submission and suite", student, assignment.id)
        previous.reused = REUSED_SAME_JOB
        return previous
    # Staged records are this batch's own (a batch starts by emptying the staging folder): forced or not,
    # they are the fresh grading this run asked for.
    staged = None if seed is not None else adopt_staged(records, assignment.id, student, notebook_name,
                                                        (sha, suite_version), cell_points)
    if staged is not None:
        return staged
    canonical = job_seed(records.secret(), assignment.id, sha)
    if seed is None:
        other = identical_record(records, assignment.id, student, (sha, suite_version), cell_points, canonical,
                                 this_batch_only=force)
        if other is not None:
            copy = dataclasses.replace(other, student=student, notebook=notebook_name)
            copy.save(path)
            log.info("%s/%s: identical to %s's submission, graded once", student, assignment.id, other.student)
            copy.reused = REUSED_IDENTICAL.format(student=other.student)
            return copy
    if seed is None:
        seed = canonical
    result = JobResult(student=student, assignment=assignment.id, notebook=notebook_name,
                       submission_sha256=sha, suite_version=suite_version, seed=seed,
                       started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                       cell_max_points=cell_points)
    started = time.monotonic()
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    reference = load_reference(assignment.reference_path)
    limits = assignment.limits()
    with StudentKernel(sources, limits, data_dir=assignment.data_dir,
                       require_isolation=require_isolation, caps=caps) as kernel:
        executions = kernel.run_notebook()
        result.protections = [f"{p.name}: {p.detail}" for p in kernel.protections if p.active]
        result.cells = [CellRecord(i, e.status, round(e.duration_s, 3), e.error[-2000:], e.outputs)
                        for i, e in enumerate(executions)]
        result.tests = run_suite(assignment.suite_dir, kernel, reference, seed)
        result.sandbox_events = kernel.events
        result.peak_memory_bytes = kernel.peak_memory_bytes
    note_gpu_memory(result, limits.gpu_memory_mb)
    result.wall_time_s = round(time.monotonic() - started, 3)
    result.save(path)
    if seed == canonical:  # a record graded under another seed (a test's) stands for no one else
        index_identical(records, result)
    return result
