"""Inline tests: an nbgrader course graded nbgrader's way, but inside the sandbox.

An assignment of the course tree with no ``assignments/<id>/hidden/`` folder at
all is an ordinary nbgrader assignment: its grade cells carry the tests
themselves (visible ones, and ``### BEGIN HIDDEN TESTS`` blocks that nbgrader
strips from the release and restores when grading). Such a notebook is graded
here with nbgrader's own semantics, so an existing course keeps its scores:

- nbgrader's sanitising steps (``OverwriteCells`` above all) have already put
  the master versions of the locked and grade cells back, hidden tests
  included, before `grade_inline` sees the notebook;
- the whole notebook, the instructor's test cells included, runs in the
  student's sandboxed kernel under the assignment's limits (the defaults when
  it has no ``assignment.toml``);
- the cells keep the outputs the kernel gave them and nbgrader's
  ``SaveAutoGrades`` scores them as it always does (an error or stderr output:
  0; a number as the result: partial credit; otherwise full points).
  `inline_scores` applies nbgrader's ``determine_grade`` to the same outputs,
  so the grading record says what the gradebook says.

What the sandbox cannot give these tests is the outside-the-process
guarantee: they run where the student's code runs and can be fooled by it,
exactly as in stock nbgrader. Every summary says so (`INLINE_NOTE`), and
``autograder migrate`` moves an assignment's inline tests into a hidden suite.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import time
from pathlib import Path

from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_markdown_cell
from nbgrader.utils import determine_grade

from ..course.assignment import Assignment, autograded_cells
from ..grading.job import REUSED_SAME_JOB, GradingRecords, submission_hash
from ..grading.results import CellRecord, JobResult, JobStatus, TestResult
from ..sandbox.kernel import StudentKernel
from ..sandbox.messages import DEFAULT_CAPS, Caps

INLINE_VERSION = "inline"  # the suite_version prefix of a record graded by inline tests
INLINE_NOTE = ("{id}: its tests ran inside the student's kernel (inline tests, nbgrader's way), without the "
               "outside-the-process guarantee of a hidden suite: `autograder migrate {root} {id}` moves them "
               "into one (docs/inline-tests.md)")


def uses_inline_tests(assignment: Assignment) -> bool:
    """True when the course tree has no hidden-suite folder for the assignment: nbgrader's inline tests grade it.

    Only a missing folder counts: an ``assignments/<id>/hidden/`` without ``test_*.py`` is a suite not yet
    written, and grading refuses it as before.
    """
    return not assignment.suite_dir.exists()


def inline_version(notebook: NotebookNode) -> str:
    """What grades an inline notebook: its grade cells (sources with hidden tests, points), fingerprinted."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            digest.update(f"{meta.get('grade_id')}\0{meta.get('points')}\0{cell.source}\0".encode())
    return f"{INLINE_VERSION}+{digest.hexdigest()[:12]}"


def grade_inline(notebook: NotebookNode, assignment: Assignment, *, student: str, notebook_name: str,
                 records: GradingRecords, force: bool = False, require_isolation: bool = True,
                 caps: Caps = DEFAULT_CAPS) -> JobResult:
    """Run the whole notebook (test cells included) in the sandbox and score its grade cells as nbgrader does."""
    sha, version = submission_hash(notebook), inline_version(notebook)
    path = records.path(assignment.id, student, notebook_name)
    previous = None if force else JobResult.load(path)
    if previous is not None and previous.key == (sha, version) and previous.graded:
        previous.reused = REUSED_SAME_JOB
        return previous
    result = JobResult(student=student, assignment=assignment.id, notebook=notebook_name, submission_sha256=sha,
                       suite_version=version, seed=0, cell_max_points=autograded_cells(notebook),
                       started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    started = time.monotonic()
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data_dir = assignment.data_dir if assignment.data_dir.is_dir() else None
    with StudentKernel([cell.source for cell in code_cells], assignment.limits(), data_dir=data_dir,
                       require_isolation=require_isolation, caps=caps) as kernel:
        executions = kernel.run_notebook()
        result.protections = [f"{p.name}: {p.detail}" for p in kernel.protections if p.active]
        result.sandbox_events = list(kernel.events)
        result.peak_memory_bytes = kernel.peak_memory_bytes
    died = next((i for i, run in enumerate(executions) if run.status == "died"), None)
    for index, (cell, run) in enumerate(zip(code_cells, executions, strict=True)):
        outputs = [dict(o) for o in run.outputs]
        if run.status != "ok" and not any(o.get("output_type") == "error" for o in outputs):
            outputs.append(_error_output(f"Cell{run.status.capitalize()}", run.error or run.status))
        if died is not None and _autograded(cell):
            # Stock nbgrader fails a notebook whose kernel dies and records no points for it: none here either
            # (the sandbox's replay around the dead cell must not earn what nbgrader would not give).
            outputs.append(_error_output("KernelDied", f"not graded: your kernel stopped at cell {died + 1} "
                                         f"({executions[died].error or 'it exited'}); as in nbgrader, a "
                                         "notebook whose kernel dies earns no points"))
        result.cells.append(CellRecord(index, run.status, round(run.duration_s, 3), run.error[-2000:], outputs))
    result.tests = inline_scores(code_cells, result.cells)
    result.wall_time_s = round(time.monotonic() - started, 3)
    result.save(path)
    return result


def inline_scores(code_cells: list[NotebookNode], records: list[CellRecord]) -> list[TestResult]:
    """One result per autograded grade cell, scored by nbgrader's ``determine_grade`` on the kernel's outputs."""
    tests = []
    for cell, record in zip(code_cells, records, strict=True):
        if not _autograded(cell):
            continue
        probe = copy.deepcopy(cell)
        probe.outputs = [from_dict(o) for o in record.outputs]
        points, maximum = determine_grade(probe)
        errors = [o for o in record.outputs if o.get("output_type") == "error"]
        message = "\n".join(f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in errors)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        tests.append(TestResult(test_id=grade_id, cell=grade_id, max_points=float(maximum), points=float(points or 0),
                                outcome="passed" if points == maximum else "failed", message=message,
                                duration_s=record.duration_s))
    return tests


def write_inline_feedback(nb: NotebookNode, result: JobResult) -> None:
    """The kernel's own outputs into the cells (nbgrader's ``SaveAutoGrades`` scores them), a summary on top."""
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell, record in zip(code_cells, result.cells, strict=True):
        cell.outputs = [from_dict(o) for o in record.outputs]
    lines = [f"## Autograder: {result.score:g} / {result.max_score:g} points",
             "",
             f"Graded {result.started_at} by this notebook's own tests, which ran in your kernel, in the sandbox "
             "(nbgrader's inline tests). Each test cell's outcome is under it."]
    if result.sandbox_events:
        lines += ["", "**What the sandbox stopped:**", "", *(f"- {event}" for event in result.sandbox_events)]
    summary = new_markdown_cell("\n".join(lines), id="autograder-summary")
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        del summary["id"]  # cell ids came with nbformat 4.5; nbgrader's quickstart notebooks are 4.4 and older
    nb.cells.insert(0, summary)
    nb.metadata["autograder"] = {"suite_version": result.suite_version, "score": result.score,
                                 "max_score": result.max_score}


def combined_result(records: GradingRecords, assignment: str, student: str, notebooks: list[str],
                    stamps: dict[str, object]) -> JobResult:
    """One student's result over the assignment's notebooks (nbgrader courses may have several), read back.

    ``stamps``: each record's stamp before nbgrader's run; none changed means every record was reused.
    """
    from .batch import record_stamp  # batch imports this module

    parts = [JobResult.load(records.path(assignment, student, name)) for name in notebooks]
    found = [part for part in parts if part is not None]
    name = "+".join(notebooks) or assignment
    if not found:
        return JobResult.without_results(student, assignment, name, "nbgrader finished but wrote no grading record")
    merged = JobResult(student=student, assignment=assignment, notebook=name, submission_sha256="",
                       suite_version=found[0].suite_version, seed=0)
    for part in found:
        merged.tests += part.tests
        merged.cell_max_points.update(part.cell_max_points)
        merged.sandbox_events += [f"{part.notebook}: {event}" for event in part.sandbox_events]
        merged.wall_time_s += part.wall_time_s
        if not part.graded:
            merged.status, merged.error = part.status, part.error
    if len(found) < len(notebooks):
        missing = sorted(set(notebooks) - {part.notebook for part in found})
        merged.status, merged.error = JobStatus.FAILED, f"no grading record for {', '.join(missing)}"
    unchanged = all(record_stamp(records.path(assignment, student, n)) == stamps.get(n) for n in notebooks)
    if merged.graded and unchanged and all(stamps.get(n) is not None for n in notebooks):
        merged.reused = REUSED_SAME_JOB
    return merged


def submitted_notebooks(folder: Path) -> list[str]:
    """The notebooks of one submission folder, by name without ``.ipynb``, sorted."""
    return sorted(path.stem for path in folder.glob("*.ipynb") if path.is_file())


def _autograded(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _error_output(name: str, value: str) -> dict:
    return {"output_type": "error", "ename": name, "evalue": value, "traceback": [f"{name}: {value}"]}
