"""Existing nbgrader courses, unchanged: nbgrader's own quickstart ``course101`` graded in the sandbox.

The course is nbgrader's quickstart ``course101`` (offline), with one ``### BEGIN HIDDEN TESTS`` block
added to a grade cell, released once, and given a small class: honest, partial and hard-coded students, one
who tampers with the inline test cells (edits one, deletes one, changes its points, prints fake nbgrader
output, raises SystemExit from a function) and one whose kernel exits. The same class is graded twice: by
stock ``nbgrader autograde`` (the reference) and by ``autograder grade`` in the sandbox. Per-cell scores must
be identical, and no student may get more in the sandbox than stock nbgrader gives.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import nbformat
import nbgrader as nbgrader_package
import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.gradebook.course_dir import NbgraderCourse

pytestmark = pytest.mark.filterwarnings("ignore")
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
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nbgrader's quickstart course101, with a hidden-tests block in problem1's first test cell (not to be edited).

    Made as ``nbgrader quickstart course101`` makes it: the user guide's example course nbgrader ships, copied with
    the same exclusions, and the config lines quickstart writes. (quickstart itself also runs five nbgrader
    subprocesses for a sample config and database rows in the working directory, which take tens of seconds on
    a busy machine and give this course nothing.)
    """
    course = tmp_path_factory.mktemp("quickstart") / "course101"
    example = Path(nbgrader_package.__file__).parent / "docs" / "source" / "user_guide" / "source"
    shutil.copytree(example, course / "source", ignore=shutil.ignore_patterns("*.html", "autotests.yml",
                                                                              "ps1_autotest"))
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "course101"\n'
                                               'c.IncludeHeaderFooter.header = "source/header.ipynb"\n')
    source = course / "source" / "ps1" / "problem1.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "correct_squares")
    cell.source += "\n" + HIDDEN
    nbformat.write(nb, source)
    return course


@pytest.fixture(scope="module")
def graded(quickstart: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """course101 with its class, graded by stock nbgrader and by `autograder grade`; both course directories."""
    base = tmp_path_factory.mktemp("course101")
    stock = base / "course101"
    shutil.copytree(quickstart, stock)
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
    stock_course = NbgraderCourse(stock)
    for student in STUDENTS:  # stock nbgrader's own autograde (its Execute step), in this process
        stock_course.api().autograde("ps1", student, force=True, create=True)
    return {"stock": stock_course, "sandboxed": NbgraderCourse(sandboxed)}


@pytest.fixture(scope="module")
def sandbox_run(graded: dict) -> str:
    """What `autograder grade` printed for the class (run once; the tests read its gradebook)."""
    from autograder.cli import output

    with output.console.capture() as captured:
        code = main(["grade", str(graded["sandboxed"].root), "ps1", "--workers", "1"])
    printed = " ".join(captured.get().split())
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


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migrate_writes_a_suite_calling_the_students_functions_through_the_proxy(
        quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = shutil.copytree(quickstart, tmp_path / "course101")
    source = (root / "source" / "ps1" / "problem1.ipynb").read_bytes()
    assert main(["migrate", str(root), "ps1"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "ps1: 2 of 4 grade cells' tests translated" in printed
    assert "test_sum_of_squares_uses_squares (sum_of_squares_uses_squares): TODO(autograder migrate), it rebinds " \
           "or deletes the student's `squares`" in printed
    assert (root / "source" / "ps1" / "problem1.ipynb").read_bytes() == source  # not asked to strip
    assert (root / "assignments" / "ps1" / "hidden" / "assignment.toml").is_file()
    suite = load_module(root / "assignments" / "ps1" / "hidden" / "test_ps1.py", "migrated_suite")
    reference = load_module(root / "reference" / "ps1.py", "migrated_reference")
    marks = {mark.name: mark.args for mark in suite.test_correct_squares.pytestmark}
    assert marks == {"grade_cell": ("correct_squares",), "points": (1,)}
    text = (root / "assignments" / "ps1" / "hidden" / "test_ps1.py").read_text()
    assert "assert student.squares(12)[-1] == 144" in text  # the hidden test, through the proxy
    # The translated tests pass on the reference stub standing in for the student, and the hidden test fails a
    # squares hard-coded up to the public checks' 11.
    suite.test_correct_squares(reference)
    suite.test_correct_sum_of_squares(reference)
    hard_coded = ModuleType("hard_coded")
    hard_coded.squares = lambda n: [i * i for i in range(1, min(n, 11) + 1)]
    with pytest.raises(AssertionError):
        suite.test_correct_squares(hard_coded)
    with pytest.raises(pytest.fail.Exception, match="TODO"):  # untranslated: fails until the author rewrites it
        suite.test_squares_invalid_input(reference)
    assert "#     squares(0)" in text and "# del squares" in text  # the inline code, kept for the rewrite


def test_migrate_never_overwrites_and_strips_the_source_only_when_asked(
        quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = shutil.copytree(quickstart, tmp_path / "course101")
    suite = root / "assignments" / "ps1" / "hidden" / "test_ps1.py"
    suite.parent.mkdir(parents=True)
    suite.write_text("# the author's own suite\n")
    assert main(["migrate", str(root), "ps1"]) == 2
    assert "migrate never replaces a suite or reference; pass --force" in " ".join(capsys.readouterr().out.split())
    assert suite.read_text() == "# the author's own suite\n"
    assert main(["migrate", str(root), "ps1", "--force", "--strip-inline"]) == 0
    assert "stripped" in capsys.readouterr().out
    stripped = nbformat.read(root / "source" / "ps1" / "problem1.ipynb", as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in stripped.cells if "nbgrader" in c.metadata}
    assert "HIDDEN TESTS" not in tests["correct_squares"] and "squares(12)" not in tests["correct_squares"]
    assert "assert squares(11) ==" in tests["correct_squares"]  # the visible tests stay
    assert "squares(12)" in suite.read_text()
    assert main(["migrate", str(root), "ps9"]) == 2
    assert "no source notebook under" in capsys.readouterr().out
