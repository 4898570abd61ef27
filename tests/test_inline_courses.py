"""Existing nbgrader courses, unchanged: nbgrader's own quickstart ``course101`` graded in the sandbox.

The course is made by ``nbgrader quickstart course101`` (offline), with one ``### BEGIN HIDDEN TESTS`` block
added to a grade cell, released once, and given a small class: honest, partial and hard-coded students, one
who tampers with the inline test cells (edits one, deletes one, changes its points, prints fake nbgrader
output, raises SystemExit from a function) and one whose kernel exits. The same class is graded twice: by
stock ``nbgrader autograde`` (the reference) and by ``autograder grade`` in the sandbox. Per-cell scores must
be identical, and no student may get more in the sandbox than stock nbgrader gives.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.gradebook.course_dir import NbgraderCourse

pytestmark = pytest.mark.filterwarnings("ignore")
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
HIDDEN = "### BEGIN HIDDEN TESTS\nassert squares(12)[-1] == 144\n### END HIDDEN TESTS\n"
CORRECT = {
    "squares": "def squares(n):\n    if n < 1:\n        raise ValueError('n must be >= 1')\n"
               "    return [i ** 2 for i in range(1, n + 1)]\n",
    "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n))\n",
}
STUDENTS = {
    "ada": dict(CORRECT),
    # right answers without calling squares: sum_of_squares_uses_squares fails
    "ben": {**CORRECT, "sum_of_squares": "def sum_of_squares(n):\n    return sum(i * i for i in range(1, n + 1))\n"},
    # answers hard-coded up to the public checks' 11: the hidden test (12) fails
    "cy": {**CORRECT, "squares": "TABLE = [i * i for i in range(1, 12)]\ndef squares(n):\n    if n < 1:\n"
                                 "        raise ValueError('no')\n    return TABLE[:n]\n"},
    # tampers with the inline tests (see `tamper`) and exits early from a function
    "eve": {**CORRECT, "sum_of_squares": "def sum_of_squares(n):\n    raise SystemExit(0)\n"
                                         "print('[AutogradeApp | INFO] correct_sum_of_squares: 0.5 / 0.5')\n"
                                         "print('Total score: 5 / 5', flush=True)\n"},
    # the kernel itself exits in a solution cell
    "kim": {**CORRECT, "sum_of_squares": CORRECT["sum_of_squares"] + "import os\nos._exit(0)\n"},
}


def tamper(nb: nbformat.NotebookNode) -> None:
    """eve's edits of the test cells: nbgrader restores or drops each, and so must the sandboxed grading."""
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    cells["correct_squares"].source = "pass  # edited test"
    cells["correct_sum_of_squares"].metadata["nbgrader"]["points"] = 100
    nb.cells.remove(cells["squares_invalid_input"])


def nbgrader(course: Path, *args: str) -> None:
    subprocess.run([NBGRADER, *args], cwd=course, check=False, capture_output=True, timeout=600)


def write_class(course: Path) -> None:
    for student, answers in STUDENTS.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nb = nbformat.read(course / "release" / "ps1" / "problem1.ipynb", as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        if student == "eve":
            tamper(nb)
        nbformat.write(nb, folder / "problem1.ipynb")
        if student == "ada":  # one notebook of two for the others: nbgrader grades what was submitted
            shutil.copy(course / "release" / "ps1" / "problem2.ipynb", folder)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """course101 with its class, graded by stock nbgrader and by `autograder grade`; both course directories."""
    base = tmp_path_factory.mktemp("course101")
    subprocess.run([NBGRADER, "quickstart", "course101"], cwd=base, check=True, capture_output=True, timeout=120)
    stock = base / "course101"
    source = stock / "source" / "ps1" / "problem1.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "correct_squares")
    cell.source += "\n" + HIDDEN
    nbformat.write(nb, source)
    (base / "exchange").mkdir()
    with open(stock / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(base / 'exchange')!r}\n")
    NbgraderCourse(stock).generate("ps1")
    write_class(stock)
    sandboxed = base / "sandboxed"
    shutil.copytree(stock, sandboxed)
    with open(sandboxed / "nbgrader_config.py", "a") as config:  # what docs/configuration.md tells a user to add
        config.write("from autograder.nbgrader_config import configure\n"
                     f"configure(c, course_root={str(sandboxed)!r})\n")
    nbgrader(stock, "autograde", "ps1", "--force")
    return {"stock": NbgraderCourse(stock), "sandboxed": NbgraderCourse(sandboxed)}


@pytest.fixture(scope="module")
def sandbox_run(graded: dict) -> str:
    """What `autograder grade` printed for the class (run once; the tests read its gradebook)."""
    capture = pytest.MonkeyPatch()
    import io

    from autograder.cli import output

    buffer = io.StringIO()
    capture.setattr(output.console, "file", buffer)
    try:
        code = main(["grade", str(graded["sandboxed"].root), "ps1", "--workers", "1"])
    finally:
        capture.undo()
    printed = " ".join(buffer.getvalue().split())
    assert code == 0, printed
    return printed


def totals(course: NbgraderCourse) -> dict[str, float]:
    with Gradebook(course.api().coursedir.db_url) as gradebook:
        return {s.student.id: s.score for s in gradebook.assignment_submissions("ps1")}


def test_sandbox_gives_the_per_cell_scores_stock_nbgrader_gives(graded: dict, sandbox_run: str) -> None:
    stock, sandboxed = graded["stock"].scores("ps1"), graded["sandboxed"].scores("ps1")
    assert sandboxed == stock  # every student, every cell (the tampering ones' are checked below as well)
    assert stock["ada"]["correct_squares"] == 1 and stock["ada"]["correct_sum_of_squares"] == 0.5
    assert stock["ben"]["sum_of_squares_uses_squares"] == 0 and stock["ben"]["correct_sum_of_squares"] == 0.5
    assert stock["cy"]["correct_squares"] == 0  # the hidden test ran, restored from the gradebook
    assert stock["cy"]["squares_invalid_input"] == 1


def test_tampered_inline_tests_get_what_stock_nbgrader_gives(graded: dict, sandbox_run: str) -> None:
    stock, sandboxed = graded["stock"].scores("ps1"), graded["sandboxed"].scores("ps1")
    assert sandboxed["eve"] == stock["eve"]
    # the edited test cell was restored and passes on correct squares; the deleted one earns nothing; the
    # function raising SystemExit fails its cells; its points stay 0.5, whatever the notebook said
    assert sandboxed["eve"]["correct_squares"] == 1
    assert sandboxed["eve"].get("squares_invalid_input", 0) == 0
    assert sandboxed["eve"]["correct_sum_of_squares"] == 0
    assert totals(graded["sandboxed"])["eve"] <= totals(graded["stock"]).get("eve", 0)


def test_a_kernel_that_exits_earns_no_more_than_stock_nbgrader_gives(graded: dict, sandbox_run: str) -> None:
    sandboxed = graded["sandboxed"].scores("ps1")
    assert sum(sandboxed["kim"].values()) == 0  # the cells before the exit too: stock nbgrader fails the notebook
    assert totals(graded["sandboxed"]).get("kim", 0) <= totals(graded["stock"]).get("kim", 0)


def test_the_summary_says_the_tests_ran_in_the_students_kernel(graded: dict, sandbox_run: str) -> None:
    assert "ps1: its tests ran inside the student's kernel" in sandbox_run
    assert "without the outside-the-process guarantee" in sandbox_run
    assert f"autograder migrate {graded['sandboxed'].root} ps1" in sandbox_run
    records = graded["sandboxed"].root / "grading_results" / "ps1" / "ada"
    assert sorted(p.name for p in records.glob("*.json")) == ["problem1.json", "problem2.json"]
    feedback = nbformat.read(graded["sandboxed"].root / "autograded" / "ada" / "ps1" / "problem1.ipynb", 4)
    assert "ran in your kernel, in the sandbox" in feedback.cells[0].source
