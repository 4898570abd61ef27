"""The nbgrader plugin (autograder/gradebook/preprocessor.py, config.py) on an in-memory notebook: no kernel."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import Execute
from traitlets.config import Config

from autograder.gradebook.config import AUTOGRADE_PIPELINE, configure
from autograder.gradebook.preprocessor import SandboxedGrading, cell_feedback, summary_markdown, write_feedback
from autograder.grading.results import CellRecord, JobResult
from autograder.grading.results import TestResult as HiddenTest  # (not a pytest class)
from autograder.sandbox.messages import DEFAULT_CAPS


def nbgrader_meta(grade_id: str, *, grade: bool, solution: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": grade_id,
            "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def submission() -> nbformat.NotebookNode:
    """A toy-like submission: two solution cells, two autograded test cells, a free cell."""
    notebook = new_notebook(cells=[
        new_markdown_cell("# Toy\nImplement `double` and `square`."),
        new_code_cell("def double(x):\n    return x * 2", metadata=nbgrader_meta("double", grade=False, solution=True)),
        new_code_cell("assert double(2) == 4", metadata=nbgrader_meta("test_double", grade=True, solution=False,
                                                                      points=3)),
        new_code_cell("while True: pass", metadata=nbgrader_meta("square", grade=False, solution=True)),
        new_code_cell("assert square(3) == 9", metadata=nbgrader_meta("test_square", grade=True, solution=False,
                                                                      points=1)),
        new_code_cell("print('scratch')"),
    ])
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale output from the student\n")]
    return notebook


PUBLIC_ERROR = {"output_type": "error", "ename": "NameError", "evalue": "name 'square' is not defined",
                "traceback": ["\x1b[0;31mTraceback\x1b[0m", "in __autograder_call secret=1.234",
                              "Cell In[4], line 1\n    assert square(3) == 9",
                              "\x1b[0;31mNameError\x1b[0m: name 'square' is not defined"]}


def result(**changes) -> JobResult:
    cells = [
        CellRecord(0, "ok", 0.1, outputs=[{"output_type": "stream", "name": "stdout", "text": "defined double\n"}]),
        CellRecord(1, "ok", 0.2, outputs=[
            {"output_type": "stream", "name": "stderr", "text": "a warning\n"},
            {"output_type": "display_data", "data": {"text/plain": "a plot"}, "metadata": {}},
            {"output_type": "execute_result", "execution_count": 2, "data": {"text/plain": "True"}, "metadata": {}},
        ]),
        CellRecord(2, "timeout", 3.0, error="ran past its 3 s time limit"),
        CellRecord(3, "error", 0.1, error="NameError: name 'square' is not defined", outputs=[PUBLIC_ERROR]),
        CellRecord(4, "ok", 0.0, outputs=[{"output_type": "stream", "name": "stdout", "text": "scratch\n"}]),
    ]
    tests = [
        HiddenTest("TestDouble::test_values", "test_double", 1.0, 1.0, "passed"),
        HiddenTest("TestDouble::test_float64", "test_double", 2.0, 0.0, "failed",
                   "double(x: float64[5]) returned float32\nexpected float64"),
        HiddenTest("test_square", "test_square", 1.0, 0.0, "error", "square is not defined in your notebook",
                   student_error=True),
    ]
    base = dict(student="sam", assignment="toy", notebook="toy", submission_sha256="abc", suite_version="toy-1+abc",
                seed=3, started_at="2026-11-20 12:00", cells=cells, tests=tests,
                sandbox_events=["cell 3 ran past its time limit (3 s) and was stopped"],
                cell_max_points={"test_double": 3.0, "test_square": 1.0})
    return JobResult(**{**base, **changes})


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def by_id(notebook, wanted: str):
    return next(cell for cell in notebook.cells if grade_id(cell) == wanted)


@pytest.fixture
def graded() -> nbformat.NotebookNode:
    notebook = submission()
    write_feedback(notebook, result())
    return notebook


def test_the_summary_cell_comes_first_with_the_score_and_the_sandbox_events(graded):
    summary = graded.cells[0]
    assert summary.cell_type == "markdown" and summary.id == "autograder-summary"
    assert summary.source.startswith("## Autograder: 1 / 4 points")
    assert "Hidden suite `toy-1+abc`, graded 2026-11-20 12:00." in summary.source
    assert "- cell 3 ran past its time limit (3 s) and was stopped" in summary.source
    assert graded.cells[1].cell_type == "markdown" and graded.cells[1].source.startswith("# Toy")
    assert len(graded.cells) == len(submission().cells) + 1
    assert graded.metadata["autograder"] == {"suite_version": "toy-1+abc", "score": 1.0, "max_score": 4.0}


def test_every_code_cells_outputs_are_replaced_by_the_sandboxed_run(graded):
    texts = ["".join(o.get("text", "") for o in cell.outputs) for cell in graded.cells if cell.cell_type == "code"]
    assert not any("stale output" in text for text in texts)
    assert by_id(graded, "double").outputs == [nbformat.v4.new_output("stream", name="stdout",
                                                                      text="defined double\n")]
    assert graded.cells[-1].outputs == [nbformat.v4.new_output("stream", name="stdout", text="scratch\n")]


def test_a_stopped_cell_says_why(graded):
    (note,) = by_id(graded, "square").outputs
    assert note.output_type == "stream" and note.name == "stdout"
    assert "[autograder] this cell was stopped: ran past its 3 s time limit" in note.text


def test_graded_cells_end_with_the_hidden_tests_and_an_execute_result_of_the_score(graded):
    outputs = by_id(graded, "test_double").outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data", "stream", "execute_result"]
    assert outputs[0].name == "stdout" and outputs[0].text == "a warning\n"  # stderr would zero the cell
    assert outputs[1].data == {"text/plain": "a plot"}
    assert outputs[2].text == cell_feedback(result(), "test_double")
    assert outputs[-1].data == {"text/plain": "1"} and outputs[-1].execution_count is None
    assert all(o.get("data") != {"text/plain": "True"} for o in outputs)  # the kernel's own result is dropped


def test_a_public_check_error_is_shown_as_plain_text_without_the_graders_frames(graded):
    outputs = by_id(graded, "test_square").outputs
    assert [o.output_type for o in outputs] == ["stream", "stream", "execute_result"]
    assert not any(o.output_type == "error" or o.get("name") == "stderr" for o in outputs)
    shown = outputs[0].text
    assert shown.startswith("Public check failed in your kernel:\n")
    assert "NameError: name 'square' is not defined" in shown and "assert square(3) == 9" in shown
    assert "__autograder" not in shown and "secret" not in shown and "\x1b" not in shown
    assert "Hidden tests for test_square: 0 / 1 points" in outputs[1].text
    assert outputs[-1].data == {"text/plain": "0"}


def test_the_graded_notebook_is_valid(graded):
    nbformat.validate(graded)
    assert nbformat.reads(nbformat.writes(graded), as_version=4) == graded


def test_cell_scores_in_the_notebook_are_capped_like_the_gradebook():
    notebook = submission()
    tests = [HiddenTest(f"t{i}", "test_square", 1.0, 1.0, "passed") for i in range(5)]
    write_feedback(notebook, result(tests=tests))
    assert by_id(notebook, "test_square").outputs[-1].data == {"text/plain": "1"}
    assert by_id(notebook, "test_double").outputs[-1].data == {"text/plain": "0"}
    assert notebook.cells[0].source.startswith("## Autograder: 1 / 4 points")


def test_a_record_for_another_number_of_cells_is_refused():
    notebook = submission()
    broken = result()
    broken.cells.pop()
    with pytest.raises(ValueError):
        write_feedback(notebook, broken)


def test_cell_feedback_lists_each_test_with_pass_or_fail():
    text = cell_feedback(result(), "test_double")
    assert text.splitlines() == [
        "",
        "Hidden tests for test_double: 1 / 3 points",
        "  [PASS] TestDouble::test_values (1/1)",
        "  [FAIL] TestDouble::test_float64 (0/2)",
        "      double(x: float64[5]) returned float32",
        "      expected float64",
    ]
    assert text.endswith("\n")
    assert "  [FAIL] test_square (0/1)" in cell_feedback(result(), "test_square")


def test_cell_feedback_for_a_cell_no_test_feeds():
    text = cell_feedback(result(cell_max_points={"test_double": 3.0, "test_square": 1.0, "test_extra": 2.0}),
                         "test_extra")
    assert "Hidden tests for test_extra: 0 / 2 points" in text
    assert "(no hidden tests feed this cell)" in text


def test_summary_markdown():
    text = summary_markdown(result(sandbox_events=[]))
    assert text.splitlines()[0] == "## Autograder: 1 / 4 points"
    assert "What the sandbox stopped" not in text
    events = summary_markdown(result(sandbox_events=["output truncated", "kernel restarted"]))
    assert "**What the sandbox stopped:**" in events
    assert events.endswith("- output truncated\n- kernel restarted")
    assert summary_markdown(result(tests=[])).startswith("## Autograder: 0 / 4 points")


# ----------------------------------------------------------------- config


def test_configure_puts_the_sandbox_first_in_nbgraders_own_pipeline():
    c = Config()
    assert configure(c, course_root="/srv/course") is c
    pipeline = c.Autograde.autograde_preprocessors
    assert pipeline[0] is SandboxedGrading
    assert Execute not in pipeline
    nbgraders = Autograde.class_traits()["autograde_preprocessors"].default()
    assert pipeline == [SandboxedGrading if step is Execute else step for step in nbgraders]
    assert pipeline == AUTOGRADE_PIPELINE
    assert c.SandboxedGrading.course_root == "/srv/course"
    assert c.LimitOutput.max_lines >= 2000


def test_configure_reaches_the_preprocessor_through_traitlets():
    c = configure(Config(), course_root="/srv/course")
    c.SandboxedGrading.require_isolation = False
    step = SandboxedGrading(config=c)
    assert step.course_root == "/srv/course"
    assert step.require_isolation is False and step.force is False
    assert SandboxedGrading().require_isolation is True  # isolation is required unless a course opts out


def test_caps_are_documented_traitlets_a_course_config_sets():
    config = Config()
    config.SandboxedGrading.max_result_bytes = 200 * 2**20
    config.SandboxedGrading.max_feedback_chars = 800
    caps = SandboxedGrading(config=config).caps
    assert (caps.result_bytes, caps.feedback_chars, caps.error_chars) == (200 * 2**20, 800, DEFAULT_CAPS.error_chars)
    assert caps.message_bytes == 250 * 2**20
    for name in ("max_result_bytes", "max_error_chars", "max_feedback_chars"):
        trait = SandboxedGrading.class_traits()[name]
        assert trait.metadata.get("config") and len(trait.help) > 40, name
