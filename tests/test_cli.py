"""The course author's and the student's commands on the toy course."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.cli.demo import DEMO_MARKER, prepare_demo_workdir
from autograder.cli.grading import batch_summary
from autograder.cli.parser import build_parser
from autograder.course.assignment import Assignment, CourseError
from autograder.course.samples import fill_solutions
from autograder.gradebook.batch import grade_one
from autograder.grading.job import REUSED_SAME_JOB, GradingRecords, grade, submission_hash
from autograder.grading.results import JobResult, JobStatus

from .conftest import CORRECT_TOY, TOY_ROOT, submit


@pytest.mark.slow
def test_check_passes_for_a_sound_assignment(capsys):
    assert main(["--course-root", str(TOY_ROOT), "check", "toy", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    for line in ("the notebook's solutions score full marks against the reference (seed 1, tolerances at 50%)",
                 "the notebook's solutions score full marks against the reference (seed 2, tolerances at 50%)",
                 "release stubs score zero", "nothing hidden leaks into the release",
                 "points: notebook grade cells = hidden tests"):
        assert line in out
    assert "FAIL" not in out


@pytest.mark.slow
def test_check_catches_points_that_do_not_add_up(tmp_path, capsys):
    import shutil

    root = tmp_path / "course"
    shutil.copytree(TOY_ROOT, root)
    source = root / "assignments" / "source" / "toy" / "toy.ipynb"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_square":
            cell.metadata.nbgrader.points = 5
    nbformat.write(notebook, source)
    assert main(["--course-root", str(root), "check", "toy", "--seeds", "1"]) == 1
    assert "test_square: notebook says 5, hidden tests add up to 1" in capsys.readouterr().out


@pytest.mark.slow
def test_validate_reports_public_checks(toy_release, tmp_path, capsys):
    path = tmp_path / "toy.ipynb"
    nbformat.write(fill_solutions(toy_release, {"double": CORRECT_TOY["double"]}), path)
    assert main(["--course-root", str(TOY_ROOT), "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "PASS  test_double" in out and "FAIL  test_square" in out
    assert "NotImplementedError - a function this cell uses is still the stub: replace `raise NotImplementedError()`" \
        in " ".join(out.split())
    assert "1 of 2 public checks passed" in out


def test_a_damaged_notebook_gets_a_clear_message(tmp_path, capsys):
    path = tmp_path / "toy.ipynb"
    path.write_text("{not json")
    assert main(["--course-root", str(TOY_ROOT), "validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "toy.ipynb: not a readable notebook" in out


# ----------------------------------------------------------------- options: help, --course-root anywhere


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_of_every_subcommand_has_help():
    parsers = list(_parsers(build_parser()))
    assert {p.prog.split()[-1] for p in parsers} >= {"collect", "grade", "validate", "check", "demo", "selftest"}
    for parser in parsers:
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog}: {action.option_strings or action.dest} has no --help text"


@pytest.mark.parametrize("argv", [
    ["--course-root", "/tmp/course", "check", "softmax_intro"],
    ["check", "softmax_intro", "--course-root", "/tmp/course"],
    ["check", "--course-root", "/tmp/course", "softmax_intro"],
], ids=["before", "after", "between"])
def test_course_root_goes_before_or_after_the_subcommand(argv):
    args = build_parser().parse_args(argv)
    assert (args.command, args.assignment, args.course_root) == ("check", "softmax_intro", Path("/tmp/course"))


def test_options_given_before_the_subcommand_are_not_reset_by_its_defaults():
    args = build_parser().parse_args(["-v", "--course-root", "/tmp/course", "grade", "course", "toy"])
    assert args.verbose and args.course_root == Path("/tmp/course")
    args = build_parser().parse_args(["grade", "course", "toy", "-v"])
    assert args.verbose and args.course_root is None
    args = build_parser().parse_args(["demo"])
    assert not args.verbose and args.course_root is None and not args.force


def test_course_root_after_the_subcommand_is_the_one_used(tmp_path, capsys):
    assert main(["check", "softmax_intro", "--course-root", str(tmp_path)]) == 2
    out = capsys.readouterr().out.replace("\n", "")
    assert "assignment softmax_intro: no hidden suite at" in out and str(tmp_path / "assignments") in out


# ----------------------------------------------------------------- demo --workdir: only a folder of its own


def test_demo_refuses_a_workdir_it_did_not_create_and_deletes_nothing(tmp_path, capsys):
    workdir = tmp_path / "mine"
    workdir.mkdir()
    (workdir / "thesis.tex").write_text("years of work")
    assert main(["demo", "--workdir", str(workdir)]) == 2
    out = capsys.readouterr().out
    assert "holds files the demo did not create (thesis.tex)" in out
    assert "pick another --workdir, or pass --force" in out
    assert (workdir / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in workdir.iterdir()) == ["thesis.tex"]


def test_demo_refuses_a_file_as_its_workdir(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("kept")
    assert main(["demo", "--workdir", str(path)]) == 2
    assert "is a file, not a folder the demo created" in capsys.readouterr().out
    assert path.read_text() == "kept"


def test_demo_workdir_missing_empty_or_its_own_is_replaced(tmp_path):
    missing = tmp_path / "a" / "demo"
    prepare_demo_workdir(missing, TOY_ROOT)
    assert sorted(p.name for p in missing.iterdir()) == [DEMO_MARKER]
    (missing / "gradebook.db").write_text("last run")
    (missing / "submitted").mkdir()
    prepare_demo_workdir(missing, TOY_ROOT)  # the demo's own folder, from its last run
    assert sorted(p.name for p in missing.iterdir()) == [DEMO_MARKER]
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_demo_workdir(empty, TOY_ROOT)
    assert sorted(p.name for p in empty.iterdir()) == [DEMO_MARKER]


def test_demo_force_replaces_a_foreign_workdir_but_never_the_course_tree(tmp_path):
    workdir = tmp_path / "mine"
    workdir.mkdir()
    (workdir / "old").write_text("x")
    prepare_demo_workdir(workdir, TOY_ROOT, force=True)
    assert sorted(p.name for p in workdir.iterdir()) == [DEMO_MARKER]
    course = tmp_path / "course"
    (course / "assignments").mkdir(parents=True)
    (course / DEMO_MARKER).write_text("")
    for folder in (course, tmp_path):
        with pytest.raises(CourseError, match="holds the course tree"):
            prepare_demo_workdir(folder, course, force=True)
    assert (course / "assignments").is_dir()


# ----------------------------------------------------------------- reused results say so


def _result(student: str, *, reused: str = "", status: JobStatus = JobStatus.GRADED) -> JobResult:
    return JobResult(student, "toy", "toy", "sha", "v1", 1, status=status, wall_time_s=1.5, reused=reused)


def test_batch_summary_says_what_was_reused_and_why():
    fresh = {"amy": _result("amy"), "bo": _result("bo"), "cy": _result("cy")}
    assert batch_summary(fresh, 3.24) == "graded 3 submissions in 3.2 s"
    assert batch_summary({"amy": _result("amy")}, 1.0) == "graded 1 submission in 1.0 s"
    mixed = {**fresh, "bo": _result("bo", reused=REUSED_SAME_JOB), "cy": _result("cy", reused=REUSED_SAME_JOB)}
    assert batch_summary(mixed, 3.24) == ("graded 1, reused 2 (same submission and suite version; "
                                          "--force to grade again) in 3.2 s")
    broken = {**mixed, "di": JobResult.without_results("di", "toy", "toy", "no", JobStatus.REFUSED)}
    assert batch_summary(broken, 3.24) == ("graded 1, reused 2 (same submission and suite version; "
                                           "--force to grade again), not graded 1 (the table says why) in 3.2 s")


class _FakeNbgrader:
    """A course whose autograde runs ``job`` instead of nbgrader (which would re-run the real job)."""

    def __init__(self, root: Path, job):
        self.root, self.job, self.calls = root, job, []
        (root / "submitted" / "amy" / "toy").mkdir(parents=True)

    def course_root(self) -> Path:
        return TOY_ROOT

    def autograde(self, assignment: str, student: str, *, force_regrade: bool = False) -> None:
        self.calls.append(force_regrade)
        self.job()


def test_grade_one_tells_a_reused_record_from_a_new_one(tmp_path):
    records = GradingRecords(tmp_path / "grading_results")
    path = records.path("toy", "amy", "toy")
    course = _FakeNbgrader(tmp_path, lambda: None)  # nbgrader ran, the job reused the record
    assert grade_one(course, records, "toy", "amy").status is JobStatus.FAILED  # no record at all
    _result("amy").save(path)
    assert grade_one(course, records, "toy", "amy").reused == REUSED_SAME_JOB
    course.job = lambda: _result("amy").save(path)  # the job graded again: same content, a new record
    assert grade_one(course, records, "toy", "amy").reused == ""
    course.job = lambda: None
    assert grade_one(course, records, "toy", "amy", force=True).reused == ""
    assert course.calls == [False, False, False, True]
    assert "reused" not in json.loads(path.read_text())


def test_the_job_says_it_reused_a_record(tmp_path):
    assignment = Assignment("toy", TOY_ROOT)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    records = GradingRecords(tmp_path)
    path = records.path("toy", "amy", "toy")
    JobResult("amy", "toy", "toy", submission_hash(notebook), assignment.suite_version(), 7).save(path)
    result = grade(notebook, assignment, student="amy", notebook_name="toy", records=records)
    assert result.reused == REUSED_SAME_JOB and result.seed == 7


# ----------------------------------------------------------------- slow: a real batch graded twice


@pytest.mark.slow
def test_a_second_grade_run_says_which_results_it_reused(toy_course, toy_release):
    autograder = str(Path(sys.executable).with_name("autograder"))
    submit(toy_course, "amy", "toy", fill_solutions(toy_release, CORRECT_TOY))
    submit(toy_course, "bo", "toy", fill_solutions(toy_release, {"square": CORRECT_TOY["square"]}))

    def run(*extra: str) -> str:
        done = subprocess.run([autograder, "grade", str(toy_course.root), "toy", *extra], capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def time_cell(out: str, student: str) -> str:
        row = next(line for line in out.splitlines() if line.strip("│ ").startswith(student + " "))
        return [cell.strip() for cell in row.split("│")][-3]

    first = run()
    assert re.search(r"graded 2 submissions in [\d.]+ s", first) and "reused" not in first
    assert time_cell(first, "amy").endswith(" s")

    submit(toy_course, "bo", "toy", fill_solutions(toy_release, CORRECT_TOY))  # bo resubmits; amy does not
    second = run()
    assert re.search(r"graded 1, reused 1 \(same submission and suite version; --force to grade again\) "
                     r"in [\d.]+ s", second), second
    assert time_cell(second, "amy") == "reused" and time_cell(second, "bo").endswith(" s")
    assert toy_course.scores("toy") == {"amy": {"test_double": 3.0, "test_square": 1.0},
                                        "bo": {"test_double": 3.0, "test_square": 1.0}}

    third = run("--force")
    assert re.search(r"graded 2 submissions in [\d.]+ s", third) and "reused" not in third
