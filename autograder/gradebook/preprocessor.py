"""nbgrader integration: a preprocessor that grades in the sandbox.

`SandboxedGrading` takes the place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors`` (see `nbgrader_config`). nbgrader's own
steps stay in charge of everything else: ``OverwriteCells`` restores locked
cells, points and kernelspec from the source before we run; ``SaveAutoGrades``
stores the per-cell scores we write as partial credit; ``generate_feedback``
and ``export`` work unchanged.

Where the process cannot sandbox (an instructor's server on the classroom hub
runs as that instructor, without root) and ``AUTOGRADER_GRADING_SERVICE`` names
the hub's grading service, the job is sent there instead (`grade_through_service`)
and the record it sends back is applied exactly as a local one.

An assignment without a hidden-suite folder is nbgrader's own kind, graded by its inline tests inside the
sandbox (`.inline`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_markdown_cell
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from ..course.assignment import Assignment
from ..grading.job import GradingRecords, grade
from ..grading.results import JobResult
from ..sandbox.confine import SandboxUnavailable
from ..sandbox.messages import DEFAULT_CAPS, Caps, student_traceback
from .inline import grade_inline, uses_inline_tests, write_inline_feedback
from .service_client import grading_service, service_request


class SandboxedGrading(NbGraderPreprocessor):
    """Execute the submission in a sandboxed kernel and grade it with the hidden suite."""

    course_root = Unicode(
        "",
        help="Course tree holding assignments/<id>/hidden/, reference/<id>.py and data/ "
             "(defaults to the parent of nbgrader's course directory).",
    ).tag(config=True)

    records_dir = Unicode(
        "",
        help="Folder for grading records (one JSON per job) and the course's seed secret; "
             "defaults to <nbgrader course directory>/grading_results.",
    ).tag(config=True)

    require_isolation = Bool(
        True,
        help="Refuse to grade when student code cannot be sandboxed. Set False only to grade "
             "UNPROTECTED on a machine without bubblewrap; the grader then warns on every job.",
    ).tag(config=True)

    force = Bool(
        False,
        help="Grade again even when a record exists for this exact submission and suite version.",
    ).tag(config=True)

    max_result_bytes = Integer(
        DEFAULT_CAPS.result_bytes,
        help="Largest result one call of a student function may send back (in the wire format, bytes). A kernel "
             "sending a bigger message is stopped; raise it for assignments that return large models.",
    ).tag(config=True)

    max_error_chars = Integer(
        DEFAULT_CAPS.error_chars,
        help="Characters of a traceback from the student's code kept in the record and the feedback.",
    ).tag(config=True)

    max_feedback_chars = Integer(
        DEFAULT_CAPS.feedback_chars,
        help="Characters of one hidden test's failure message kept in the record and the feedback.",
    ).tag(config=True)

    ray_address = Unicode(
        "",
        help="Grade the batch's jobs on this Ray cluster ahead of nbgrader's run (autograder grade and demo): "
             "HOST:PORT of its head, ray://HOST:PORT (Ray Client), \"auto\" (the cluster this machine belongs to) "
             "or \"local\" (a cluster of this machine's cores for the batch). Empty: local worker processes. "
             "See docs/scale-out.md for what the nodes need.",
    ).tag(config=True)

    @property
    def caps(self) -> Caps:
        return Caps(result_bytes=self.max_result_bytes, error_chars=self.max_error_chars,
                    feedback_chars=self.max_feedback_chars)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        course_root = Path(self.course_root or Path(coursedir.root).parent)
        records = GradingRecords(Path(self.records_dir or Path(coursedir.root) / "grading_results"))
        service = grading_service()
        if service:
            result = grade_through_service(service, nb, course=coursedir.course_id, assignment=info["assignment"],
                                           student=info["student"], notebook_name=info["notebook"], force=self.force)
            write_feedback(nb, result)
            resources.setdefault("autograder", {})["result"] = result
            return nb, resources
        assignment = Assignment(info["assignment"], course_root)
        inline = uses_inline_tests(assignment)  # an nbgrader assignment whose grade cells hold the tests
        try:
            result = (grade_inline if inline else grade)(
                nb, assignment, student=info["student"], notebook_name=info["notebook"], records=records,
                force=self.force, require_isolation=self.require_isolation, caps=self.caps)
        except SandboxUnavailable as exc:
            self.log.error("%s", exc)
            raise
        (write_inline_feedback if inline else write_feedback)(nb, result)
        resources.setdefault("autograder", {})["result"] = result
        return nb, resources


def grade_through_service(service: str, nb: NotebookNode, *, course: str, assignment: str, student: str,
                          notebook_name: str, force: bool = False) -> JobResult:
    """Have the hub's grading service grade ``nb`` (it keeps the record in the course's grading records)."""
    answer = service_request(service, f"/courses/{course}/notebooks",
                             {"assignment": assignment, "student": student, "notebook_name": notebook_name,
                              "force": force, "notebook": nb}, what=f"grading {student}/{assignment}")
    return JobResult.from_json(json.dumps(answer["result"]))


def write_feedback(nb: NotebookNode, result: JobResult) -> None:
    """Put the run's outputs, per-test messages and per-cell scores into the notebook."""
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell, record in zip(code_cells, result.cells, strict=True):
        meta = cell.metadata.get("nbgrader", {})
        outputs = copy.deepcopy(record.outputs)
        if record.status in ("timeout", "died"):
            outputs.append({"output_type": "stream", "name": "stdout",
                            "text": f"\n[autograder] this cell was stopped: {record.error}\n"})
        if meta.get("grade") and not meta.get("solution"):
            outputs = _graded_cell_outputs(outputs, result, meta["grade_id"])
        cell.outputs = [from_dict(o) for o in outputs]
    summary = new_markdown_cell(summary_markdown(result), id="autograder-summary")
    nb.cells.insert(0, summary)
    nb.metadata["autograder"] = {"suite_version": result.suite_version, "score": result.score,
                                 "max_score": result.max_score}


def _graded_cell_outputs(outputs: list[dict[str, Any]], result: JobResult, cell_id: str) -> list[dict]:
    # nbgrader gives 0 to a grade cell with any error or stderr output, so the public checks' own
    # outcome is shown as plain text; the score is the hidden tests' and goes in the execute_result.
    shown = []
    for output in outputs:
        if output["output_type"] == "error":
            shown.append({"output_type": "stream", "name": "stdout",
                          "text": f"Public check failed in your kernel:\n{student_traceback(output)}\n"})
        elif output["output_type"] == "stream":
            shown.append({**output, "name": "stdout"})
        elif output["output_type"] != "execute_result":
            shown.append(output)
    score = result.cell_scores().get(cell_id, 0.0)
    shown.append({"output_type": "stream", "name": "stdout", "text": cell_feedback(result, cell_id)})
    shown.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                  "data": {"text/plain": f"{score:g}"}})
    return shown


def cell_feedback(result: JobResult, cell_id: str, *, hide_messages: bool = False) -> str:
    """The per-test lines under a graded cell; ``hide_messages`` (before the deadline) keeps names and points only."""
    tests = result.tests_for(cell_id)
    score = result.cell_scores().get(cell_id, 0.0)
    maximum = result.cell_max_points.get(cell_id, 0.0)
    lines = [f"\nHidden tests for {cell_id}: {score:g} / {maximum:g} points"]
    for test in tests:
        mark = "PASS" if test.passed else "FAIL"
        lines.append(f"  [{mark}] {test.test_id} ({test.points:g}/{test.max_points:g})")
        if hide_messages:
            if not test.passed:
                lost = test.max_points - test.points
                lines.append(f"      {lost:g} points lost (the message is shown after the deadline)")
        elif test.message:
            lines.extend("      " + line for line in test.message.splitlines())
    if not tests:
        lines.append("  (no hidden tests feed this cell)")
    return "\n".join(lines) + "\n"


def summary_markdown(result: JobResult) -> str:
    lines = [f"## Autograder: {result.score:g} / {result.max_score:g} points",
             "",
             f"Hidden suite `{result.suite_version}`, graded {result.started_at}. "
             "Per-test results are under each graded cell below."]
    if result.sandbox_events:
        lines += ["", "**What the sandbox stopped:**", ""]
        lines += [f"- {event}" for event in result.sandbox_events]
    return "\n".join(lines)
