"""The ``autograder`` command: collect, grade, validate, check and demo.

- ``collect COURSE_DIR ASSIGNMENT``: nbgrader-collect the latest submissions
  from the exchange, refusing those that hold links, with a table of who was
  collected and who was refused and why;
- ``grade COURSE_DIR ASSIGNMENT``: nbgrader-autograde every (or some)
  submission in the sandbox, with a progress bar and a summary table;
- ``validate NOTEBOOK``: a student's quick check, running only the public
  checks of their notebook in the sandbox;
- ``check ASSIGNMENT``: the course author's check before release;
- ``demo``: build a course from this repository, submit the bundled sample
  class, grade it, export the gradebook and write feedback (in a folder of its
  own: it refuses to replace one it did not create, unless ``--force``).

``--course-root`` and ``-v`` go before or after the subcommand's name.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SAWarning

from .authoring import check_assignment
from .course.assignment import Assignment, CourseError, autograded_cells, read_notebook
from .course.samples import expected_scores, submit_samples
from .gradebook.batch import grade_batch
from .gradebook.course_dir import NbgraderCourse, NbgraderError
from .grading.results import JobResult
from .grading.suite import SuiteError
from .sandbox.confine import Sandbox, SandboxUnavailable
from .sandbox.kernel import StudentKernel
from .selftest.cases import CATEGORIES
from .selftest.runner import run_security_selftest
from .selftest.verdicts import report_table

# Piped output (CI logs, files) keeps whole table rows instead of wrapping at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
DEFAULT_ASSIGNMENT = "a01_gradient_descent"


def default_course_root() -> Path:
    """This repository when run from it (or installed editable from it), else the working directory."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (candidate / "assignments" / "source").is_dir():
            return candidate
    return Path.cwd()


def common_options(*, top_level: bool) -> argparse.ArgumentParser:
    """The options every subcommand takes, before or after its name.

    The subcommands' copy defaults to ``SUPPRESS``: an option given only before the subcommand keeps its value
    (argparse would otherwise overwrite it with the subcommand's default).
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-root", type=Path, default=None if top_level else argparse.SUPPRESS,
                        help="course tree with assignments/, reference/ and data/ (default: this repository)")
    common.add_argument("-v", "--verbose", action="store_true", default=False if top_level else argparse.SUPPRESS,
                        help="show nbgrader's and the grader's logs")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0],
                                     parents=[common_options(top_level=True)])
    commands = parser.add_subparsers(dest="command", required=True)
    common = [common_options(top_level=False)]

    collect = commands.add_parser("collect", parents=common,
                                  help="collect submissions of one assignment from the exchange")
    collect.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    collect.add_argument("assignment", help="the assignment's id, e.g. a01_gradient_descent")

    grade = commands.add_parser("grade", parents=common, help="autograde submissions of one assignment")
    grade.add_argument("course_dir", type=Path, help="the nbgrader course directory (has nbgrader_config.py)")
    grade.add_argument("assignment", help="the assignment's id, e.g. a01_gradient_descent")
    grade.add_argument("--student", action="append", default=[], help="grade only this student (repeatable)")
    grade.add_argument("--force", action="store_true",
                       help="grade again even a submission whose record can be reused (same submission and suite)")

    validate = commands.add_parser("validate", parents=common, help="run a notebook's public checks in the sandbox")
    validate.add_argument("notebook", type=Path,
                          help="the student's notebook, named after its assignment (<assignment>.ipynb)")

    check = commands.add_parser("check", parents=common, help="course author's check of an assignment")
    check.add_argument("assignment", nargs="?", default=DEFAULT_ASSIGNMENT,
                       help=f"the assignment's id (default: {DEFAULT_ASSIGNMENT})")
    check.add_argument("--seeds", type=int, default=3, help="secret seeds to grade the reference under")

    demo = commands.add_parser("demo", parents=common, help="grade the bundled sample class and print the gradebook")
    demo.add_argument("--workdir", type=Path, default=Path("build/demo"),
                      help="where the demo builds its course (default: build/demo); replaced on every run, so a "
                           "folder the demo did not create is refused unless --force")
    demo.add_argument("--assignment", default=DEFAULT_ASSIGNMENT,
                      help=f"the assignment whose sample class is graded (default: {DEFAULT_ASSIGNMENT})")
    demo.add_argument("--force", action="store_true",
                      help="replace --workdir even when it holds files the demo did not create (they are deleted)")

    selftest = commands.add_parser("selftest", parents=common, help="the platform's own checks on this host")
    selftest.add_argument("what", choices=["security"],
                          help="security: grade every hostile submission of tests/hostile beside honest students")
    selftest.add_argument("--category", action="append", default=[], choices=list(CATEGORIES),
                          help="only this category of attack (repeatable)")
    selftest.add_argument("--workers", type=int, default=2, help="grader processes sharing the categories")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.ERROR
    # nbgrader's application loggers set their own level (INFO) and propagate here: filter at the handler.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", handlers=[handler])
    if not args.verbose:
        # nbgrader's gradebook API trips SQLAlchemy's autoflush warnings on every read; they are harmless
        # and would bury the summary.
        warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
    root = (args.course_root or default_course_root()).resolve()
    try:
        if args.command == "collect":
            return collect_command(NbgraderCourse(args.course_dir.resolve()), args.assignment)
        if args.command == "grade":
            return grade_command(NbgraderCourse(args.course_dir.resolve()), args.assignment, args.student, args.force)
        if args.command == "validate":
            return validate_command(args.notebook, root)
        if args.command == "check":
            return check_command(Assignment(args.assignment, root), args.seeds)
        if args.command == "selftest":
            return security_selftest_command(args.category, args.workers)
        return demo_command(root, args.workdir.resolve(), args.assignment, force=args.force)
    except (CourseError, SuiteError, SandboxUnavailable, NbgraderError) as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        return 2


def print_protections(limits_source: Assignment) -> None:
    sandbox = Sandbox(limits_source.limits(), runtime_dir=Path("/tmp"))
    table = Table(title="Sandbox protections on this host", show_edge=False)
    table.add_column("protection")
    table.add_column("active")
    table.add_column("detail")
    for protection in sandbox.protections():
        table.add_row(protection.name, "yes" if protection.active else "[bold red]NO[/]", protection.detail)
    console.print(table)


def collect_command(course: NbgraderCourse, assignment_id: str) -> int:
    outcomes = course.collect(assignment_id)
    table = Table(title=f"Collected: {assignment_id} (from the exchange into {course.root / 'submitted'})")
    table.add_column("student")
    table.add_column("result")
    table.add_column("why")
    for row in outcomes:
        style = {"refused": "[bold red]", "collected": "[green]"}.get(row.status, "")
        table.add_row(row.student, f"{style}{row.status}[/]" if style else row.status, escape(row.why))
    console.print(table)
    refused = sum(row.status == "refused" for row in outcomes)
    console.print(f"{len(outcomes) - refused} of {len(outcomes)} submissions collected or up to date, "
                  f"{refused} refused")
    return 1 if refused else 0


def grade_command(course: NbgraderCourse, assignment_id: str, students: list[str], force: bool,
                  expected: dict[str, dict] | None = None) -> int:
    students = students or course.submitted_students(assignment_id)
    if not students:
        raise CourseError(f"no submissions of {assignment_id} under {course.root / 'submitted'}")
    print_protections(Assignment(assignment_id, course.course_root()))
    started = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task(f"grading {assignment_id}", total=len(students))
        results = grade_batch(
            course, assignment_id, students, force=force,
            on_start=lambda student: progress.update(task, description=f"grading {assignment_id}: {student}"),
            on_done=lambda student, outcome: progress.advance(task),
            on_wait=lambda: progress.console.print("another grading run holds this course's lock: waiting for it"),
        )
    console.print(summary_table(course, assignment_id, results, expected))
    console.print(batch_summary(results, time.monotonic() - started), highlight=False)
    failures = [student for student, result in results.items() if not result.graded]
    return 1 if failures else 0


def summary_table(course: NbgraderCourse, assignment_id: str, results: dict[str, JobResult],
                  expected: dict[str, dict] | None) -> Table:
    gradebook = course.scores(assignment_id)
    # Columns in the notebook's order, which is the order students meet the exercises in.
    notebook_order = list(autograded_cells(read_notebook(Assignment(assignment_id, course.course_root())
                                                         .source_notebook)))
    found = {cell for scores in gradebook.values() for cell in scores}
    cells = [cell for cell in notebook_order if cell in found] + sorted(found - set(notebook_order))
    table = Table(title=f"Gradebook: {assignment_id} (scores read back from nbgrader's database)")
    table.add_column("student")
    for cell in cells:
        table.add_column(cell.removeprefix("test_"), justify="right")
    table.add_column("total", justify="right")
    if expected is not None:
        table.add_column("expected", justify="right")
    table.add_column("time", justify="right")
    table.add_column("sandbox stopped")
    for student, result in results.items():
        scores = gradebook.get(student, {})
        total = sum(scores.values())
        row = [student, *(f"{scores.get(cell, 0):g}" for cell in cells), f"{total:g}"]
        if expected is not None:
            want = expected.get(student, {}).get("total")
            row.append(f"{want:g} {'ok' if want == total else 'MISMATCH'}" if want is not None else "-")
        if result.graded:
            row += ["reused" if result.reused else f"{result.wall_time_s:.1f} s",
                    stopped_summary(result.sandbox_events)]
        else:
            row += ["-", f"[red]{result.status}: {escape(result.error)}[/]"]
        table.add_row(*row)
    return table


def batch_summary(results: dict[str, JobResult], seconds: float) -> str:
    """The line under the table: how many were graded now, reused (and why) or not graded."""
    reused = [result for result in results.values() if result.graded and result.reused]
    fresh = sum(result.graded and not result.reused for result in results.values())
    not_graded = len(results) - fresh - len(reused)
    if not reused and not not_graded:
        return f"graded {fresh} submission{'' if fresh == 1 else 's'} in {seconds:.1f} s"
    parts = [f"graded {fresh}"]
    if reused:
        why = "; ".join(sorted({result.reused for result in reused}))
        parts.append(f"reused {len(reused)} ({why}; --force to grade again)")
    if not_graded:
        parts.append(f"not graded {not_graded} (the table says why)")
    return ", ".join(parts) + f" in {seconds:.1f} s"


def security_selftest_command(categories: list[str], workers: int) -> int:
    started = time.monotonic()
    reports = run_security_selftest(categories or None, workers=workers,
                                    progress=lambda line: console.print(f"  {line}", highlight=False))
    console.print(report_table(reports))
    tried, contained = sum(r.tried for r in reports), sum(r.contained for r in reports)
    limits = sum(r.known_limits for r in reports)
    console.print(f"{contained}/{tried} hostile cases contained ({limits} known limit(s), reported above) "
                  f"in {time.monotonic() - started:.0f} s of wall time")
    return 0 if all(report.ok for report in reports) else 1


def stopped_summary(events: list[str], shown: int = 3) -> str:
    """The sandbox's interventions for one submission, one per line (the record holds them all)."""
    lines = [event if len(event) <= 70 else event[:69] + "…" for event in events[:shown]]
    if len(events) > shown:
        lines.append(f"(+{len(events) - shown} more in the grading record)")
    return "\n".join(lines)


def validate_command(notebook_path: Path, root: Path) -> int:
    notebook = read_notebook(notebook_path)
    assignment = Assignment(notebook_path.stem, root)
    limits = assignment.limits() if assignment.suite_dir.is_dir() else None
    public = autograded_cells(notebook)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    from .sandbox.confine import Limits

    with StudentKernel([c.source for c in code_cells], limits or Limits(), data_dir=root / "data") as kernel:
        runs = kernel.run_notebook()
    failed = 0
    for cell, run in zip(code_cells, runs, strict=True):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in public:
            ok = run.status == "ok"
            failed += not ok
            console.print(f"{'PASS' if ok else 'FAIL'}  {grade_id}")
            if not ok:
                console.print("      " + (run.error.strip().splitlines() or [run.status])[-1], highlight=False)
        elif run.status != "ok":
            console.print(f"note  cell {grade_id or ''} did not run cleanly: "
                          f"{(run.error.strip().splitlines() or [run.status])[-1]}", highlight=False)
    console.print(f"{len(public) - failed} of {len(public)} public checks passed "
                  "(the hidden tests check more when you submit)")
    return 1 if failed else 0


def check_command(assignment: Assignment, seeds: int) -> int:
    checks = check_assignment(assignment, seeds=seeds)
    table = Table(title=f"autograder check {assignment.id}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for item in checks:
        table.add_row(item.name, "PASS" if item.ok else "[bold red]FAIL[/]", item.detail)
    console.print(table)
    return 0 if all(item.ok for item in checks) else 1


DEMO_MARKER = ".autograder-demo"  # written first into the demo's workdir: the next run may replace that folder


def prepare_demo_workdir(workdir: Path, course_root: Path, *, force: bool = False) -> None:
    """Empty ``workdir`` for a new demo course; refuse one the demo did not create (unless ``force``).

    A missing or empty folder, or one holding the demo's marker, is the demo's to replace. ``workdir`` is
    resolved; a folder holding the course tree the demo builds from is never deleted, even forced.
    """
    if course_root.resolve().is_relative_to(workdir):
        raise CourseError(f"--workdir {workdir} holds the course tree {course_root}, which the demo would delete: "
                          "pick another --workdir")
    if os.path.lexists(workdir) and not workdir.is_dir():
        if not force:
            raise CourseError(f"--workdir {workdir} is a file, not a folder the demo created: "
                              "pick another --workdir, or pass --force to delete it")
        workdir.unlink()
    elif workdir.is_dir():
        foreign = sorted(path.name for path in workdir.iterdir())
        if foreign and not (workdir / DEMO_MARKER).is_file() and not force:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise CourseError(f"--workdir {workdir} holds files the demo did not create ({shown}); the demo replaces "
                              "its workdir whole: pick another --workdir, or pass --force to delete them")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / DEMO_MARKER).write_text("Written by `autograder demo`: this folder is the demo's course directory, "
                                       "deleted and rebuilt by its next run.\n")


def demo_command(root: Path, workdir: Path, assignment_id: str, *, force: bool = False) -> int:
    prepare_demo_workdir(workdir, root, force=force)
    assignment = Assignment(assignment_id, root)
    course = NbgraderCourse.create(workdir, root)
    console.print(f"course directory: {workdir}")
    release = course.generate(assignment_id)
    console.print(f"released {assignment_id}: {release}")
    students = submit_samples(assignment.samples_dir, release / f"{assignment_id}.ipynb",
                              workdir / "submitted", assignment_id)
    console.print(f"submitted {len(students)} sample students: {', '.join(students)}")
    code = grade_command(course, assignment_id, students, force=False,
                         expected=expected_scores(assignment.samples_dir))
    csv_path = course.export_csv(workdir / "grades.csv")
    for student in students:
        course.feedback(assignment_id, student)
    console.print(f"gradebook exported: {csv_path}")
    console.print(f"feedback: {workdir / 'feedback'}/<student>/{assignment_id}/{assignment_id}.html")
    return code


if __name__ == "__main__":
    sys.exit(main())
