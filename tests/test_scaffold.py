"""Starting a course and an assignment (`autograder init`, `autograder new`), and the one-line errors of a
course that cannot grade yet. None of these run a kernel or an nbgrader step."""

from __future__ import annotations

import stat
from pathlib import Path

import nbformat
import pytest
from rich.console import Console

from autograder.authoring.scaffold import init_course, new_assignment
from autograder.cli import main
from autograder.cli.grading import summary_table
from autograder.course.assignment import Assignment, CourseError, autograded_cells, read_notebook
from autograder.course.samples import build_submission, expected_scores, sample_students
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.gradebook.preprocessor import SandboxedGrading
from autograder.grading.results import JobResult, JobStatus

from .conftest import TOY_ROOT


def test_init_writes_a_course_that_grades_in_the_sandbox(tmp_path: Path):
    written = init_course(tmp_path / "dl101")
    root = tmp_path / "dl101"
    config = NbgraderCourse(root).config()
    assert config.CourseDirectory.course_id == "dl101"
    assert SandboxedGrading in config.Autograde.autograde_preprocessors
    assert config.SandboxedGrading.course_root == str(root)
    assert Path(config.Exchange.root) == root / "exchange"
    assert stat.S_IMODE((root / "exchange").stat().st_mode) == 0o777  # every student writes the exchange
    assert NbgraderCourse(root).source_dir().resolve() == root / "assignments" / "source"
    for folder in ("assignments/source", "reference", "data"):
        assert (root / folder).is_dir()
    ignored = (root / ".gitignore").read_text().split()
    assert {"grading_results/", "gradebook.db", "submitted/", "exchange/"} <= set(ignored)  # the secret stays out
    assert root / "nbgrader_config.py" in written.created


def test_init_with_an_existing_course_tree_and_exchange(tmp_path: Path):
    exchange = tmp_path / "srv" / "exchange"
    init_course(tmp_path / "course", course_tree=TOY_ROOT, course_id="toy-2026", exchange=exchange)
    course = NbgraderCourse(tmp_path / "course")
    config = course.config()
    assert (config.CourseDirectory.course_id, Path(config.Exchange.root)) == ("toy-2026", exchange)
    assert exchange.is_dir()
    assert course.course_root() == TOY_ROOT.resolve()
    assert (course.source_dir() / "toy" / "toy.ipynb").is_file()  # nbgrader reads the tree's sources in place
    assert not (tmp_path / "course" / "assignments").exists()


@pytest.mark.parametrize("problem, fix", [
    ("existing course", "already an nbgrader course"),
    ("course id", "not usable by nbgrader"),
    ("tree without sources", "has no assignments/source/"),
    ("a file", "is a file"),
])
def test_init_refuses_with_the_fix(tmp_path: Path, problem: str, fix: str):
    target, kwargs = tmp_path / "course", {}
    if problem == "existing course":
        init_course(target)
    elif problem == "course id":
        kwargs = {"course_id": "my course!"}
    elif problem == "tree without sources":
        kwargs = {"course_tree": tmp_path}
    else:
        target.write_text("notes")
    with pytest.raises(CourseError, match=fix):
        init_course(target, **kwargs)


def test_init_never_replaces_a_file(tmp_path: Path):
    root = tmp_path / "course"
    (root / "data").mkdir(parents=True)
    (root / "data" / "README.md").write_text("our own data notes")
    written = init_course(root)
    assert (root / "data" / "README.md").read_text() == "our own data notes"
    assert root / "data" / "README.md" in written.kept


def test_new_writes_a_complete_consistent_assignment(tmp_path: Path):
    init_course(tmp_path / "course")
    new_assignment(tmp_path / "course", "softmax_intro")
    assignment = Assignment("softmax_intro", tmp_path / "course")
    assignment.validate()  # suite, reference, limits, grade cells
    assert assignment.limits().call_timeout_s > 0
    cells = autograded_cells(read_notebook(assignment.source_notebook))
    assert cells == {"test_relu": 2.0, "test_softmax": 3.0}
    assert "softmax_intro-1" in assignment.suite_version()
    expected = expected_scores(assignment.samples_dir)
    assert {sample.stem for sample in sample_students(assignment.samples_dir)} == set(expected)
    for student, scores in expected.items():
        assert set(scores["cells"]) == set(cells) and sum(scores["cells"].values()) == scores["total"], student
        notebook = build_submission(assignment.source_notebook, assignment.samples_dir / f"{student}.py")
        nbformat.validate(notebook)


@pytest.mark.parametrize("assignment_id, fix", [("softmax intro", "start with a letter"),
                                                ("1st", "start with a letter"),
                                                ("toy", "exists already")])
def test_new_refuses_with_the_fix(tmp_path: Path, assignment_id: str, fix: str):
    init_course(tmp_path / "course")
    new_assignment(tmp_path / "course", "toy")
    before = {path: path.read_bytes() for path in (tmp_path / "course").rglob("*") if path.is_file()}
    with pytest.raises(CourseError, match=fix):
        new_assignment(tmp_path / "course", assignment_id)
    assert {path: path.read_bytes() for path in (tmp_path / "course").rglob("*") if path.is_file()} == before


def test_init_and_new_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["init", str(tmp_path / "dl101")]) == 0
    said = capsys.readouterr().out
    assert "Course dl101 is ready" in said and "autograder new" in said and "nbgrader generate_assignment" in said
    assert main(["new", "softmax_intro", "--course-root", str(tmp_path / "dl101")]) == 0
    assert "autograder check softmax_intro" in capsys.readouterr().out
    assert main(["init", str(tmp_path / "dl101")]) == 2
    assert "already an nbgrader course" in capsys.readouterr().out


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("error: ") and out.count("error:") == 1, out
    return out


def test_grade_in_a_folder_that_is_no_course_says_init(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["grade", str(tmp_path), "toy"]) == 2
    assert "is not an nbgrader course" in _one_error_line(capsys)
    assert main(["collect", str(tmp_path), "toy"]) == 2
    assert f"autograder init {tmp_path}" in _one_error_line(capsys)


def test_grade_before_release_says_generate_assignment(tmp_path: Path, capsys: pytest.CaptureFixture):
    init_course(tmp_path / "course", course_tree=TOY_ROOT)
    (tmp_path / "course" / "submitted" / "ann" / "toy").mkdir(parents=True)
    assert main(["grade", str(tmp_path / "course"), "toy"]) == 2
    said = _one_error_line(capsys)
    assert "not in the gradebook" in said and "nbgrader generate_assignment toy" in said


def test_grade_without_submissions_says_collect(tmp_path: Path, capsys: pytest.CaptureFixture):
    init_course(tmp_path / "course", course_tree=TOY_ROOT)
    NbgraderCourse(tmp_path / "course").api().gradebook.update_or_create_assignment("toy")
    assert main(["grade", str(tmp_path / "course"), "toy"]) == 2
    said = _one_error_line(capsys)
    assert "no submissions of toy" in said and f"autograder collect {tmp_path / 'course'} toy" in said


def test_a_student_who_was_not_graded_shows_no_score(tmp_path: Path):
    init_course(tmp_path / "course", course_tree=TOY_ROOT)
    results = {"ann": JobResult.without_results("ann", "toy", "toy", "nbgrader autograde failed: disk full"),
               "ben": JobResult.without_results("ben", "toy", "toy", "a link", JobStatus.REFUSED)}
    console = Console(width=200, record=True)
    console.print(summary_table(NbgraderCourse(tmp_path / "course"), "toy", results, None))
    rows = [line for line in console.export_text().splitlines() if line.startswith(("│ ann", "│ ben"))]
    assert len(rows) == 2 and all("not graded" in row for row in rows), rows
    assert all(" 0 " not in row for row in rows), rows
