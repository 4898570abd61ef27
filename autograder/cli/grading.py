"""``collect`` and ``grade``: nbgrader's exchange and autograding of a class, with tables a person reads."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..course.assignment import Assignment, CourseError, autograded_cells, read_notebook
from ..gradebook.batch import grade_batch, stale_results
from ..gradebook.course_dir import NbgraderCourse
from ..gradebook.inline import INLINE_NOTE, uses_inline_tests
from ..gradebook.prestage import default_workers
from ..gradebook.service_client import grading_service
from ..grading.results import JobResult
from ..sandbox.confine import Sandbox
from . import output


def print_protections(limits_source: Assignment) -> None:
    service = grading_service()
    if service:
        output.console.print(f"grading through the hub's grading service at {service} (it owns the sandbox)")
        return
    sandbox = Sandbox(limits_source.limits(), runtime_dir=Path("/tmp"))
    table = Table(title="Sandbox protections on this host", show_edge=False)
    table.add_column("protection")
    table.add_column("active")
    table.add_column("detail")
    for protection in sandbox.protections():
        table.add_row(protection.name, "yes" if protection.active else "[bold red]NO[/]", protection.detail)
    output.console.print(table)


def collect_command(course: NbgraderCourse, assignment_id: str) -> int:
    outcomes = course.collect(assignment_id)
    table = Table(title=f"Collected: {assignment_id} (from the exchange into {course.root / 'submitted'})")
    table.add_column("student")
    table.add_column("result")
    table.add_column("why")
    for row in outcomes:
        style = {"refused": "[bold red]", "collected": "[green]"}.get(row.status, "")
        table.add_row(row.student, f"{style}{row.status}[/]" if style else row.status, escape(row.why))
    output.console.print(table)
    refused = sum(row.status == "refused" for row in outcomes)
    output.console.print(f"{len(outcomes) - refused} of {len(outcomes)} submissions collected or up to date, "
                  f"{refused} refused")
    return 1 if refused else 0


def grade_command(course: NbgraderCourse, assignment_id: str, students: list[str], force: bool,
                  expected: dict[str, dict] | None = None, workers: int | None = None,
                  ray: str | None = None, stale: bool = False) -> int:
    """Autograde ``students`` (default: every submission), ``workers`` at a time or on the Ray cluster ``ray``.

    ``ray`` None: the course config's cluster, if any (``SandboxedGrading.ray_address``); "": none. ``stale``:
    of those students, only the ones whose results an older version of the suite or reference graded.
    """
    course.check_ready_to_grade(assignment_id)
    students = students or course.submitted_students(assignment_id)
    if not students:
        raise CourseError(f"no submissions of {assignment_id} under {course.root / 'submitted'}: students submit with "
                          f"`nbgrader submit {assignment_id}`, then `autograder collect {course.root} {assignment_id}` "
                          "copies their submissions there")
    if stale:
        old = stale_results(course, assignment_id, students)
        output.console.print(escape(stale_summary(course, assignment_id, old)), highlight=False)
        if not old:
            return 0
        students = sorted(old)
    print_protections(Assignment(assignment_id, course.course_root()))
    started = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=output.console) as progress:
        if workers is None:
            workers = default_workers(Assignment(assignment_id, course.course_root()).limits())
        address = configured_ray(course) if ray is None else ray
        where = f" on the Ray cluster {address}" if address else f", {workers} jobs at a time" if workers > 1 else ""
        task = progress.add_task(f"grading {assignment_id}{where}", total=len(students))
        results = grade_batch(
            course, assignment_id, students, force=force, workers=workers,
            ray_address=ray,  # None: the course config's cluster, if any
            on_start=lambda student: progress.update(task, description=f"grading {assignment_id}: {student}"),
            on_done=lambda student, outcome: progress.advance(task),
            on_wait=lambda: progress.console.print("another grading run holds this course's lock: waiting for it"),
        )
    output.console.print(summary_table(course, assignment_id, results, expected))
    output.console.print(batch_summary(results, time.monotonic() - started), highlight=False)
    if uses_inline_tests(Assignment(assignment_id, course.course_root())):
        output.console.print(f"[bold yellow]note:[/] {escape(inline_note(course, assignment_id))}", highlight=False)
    regraded = [student for student, result in results.items() if result.graded and not result.reused]
    kept = course.manual_overrides(assignment_id, regraded)
    if kept:
        shown = "; ".join(f"{student} {cell}: {manual:g} (auto {'none' if auto is None else format(auto, 'g')})"
                          for student, cell, manual, auto in kept)
        output.console.print(f"[bold yellow]note:[/] manual scores from the formgrader stand over the new auto "
                             f"scores, flagged for review there: {escape(shown)}", highlight=False)
    left = stale_results(course, assignment_id, course.submitted_students(assignment_id))
    if left:
        output.console.print(f"[bold yellow]note:[/] {escape(stale_note(course, assignment_id, left))}",
                             highlight=False)
    failures = [student for student, result in results.items() if not result.graded]
    return 1 if failures else 0


def stale_summary(course: NbgraderCourse, assignment_id: str, stale: dict[str, str]) -> str:
    """What `grade --stale` found: whose results an older suite version graded, by version, or that none did."""
    current = Assignment(assignment_id, course.course_root()).suite_version()
    if not stale:
        return (f"no stale results: every graded submission of {assignment_id} was graded by the current suite "
                f"version {current}")
    by_version: dict[str, list[str]] = {}
    for student, version in sorted(stale.items()):
        by_version.setdefault(version, []).append(student)
    versions = "; ".join(f"{version}: {', '.join(students)}" for version, students in sorted(by_version.items()))
    return (f"{len(stale)} stale result{'' if len(stale) == 1 else 's'} of {assignment_id}, graded by an older suite "
            f"version ({versions}); regrading {'it' if len(stale) == 1 else 'them'} with {current} (manual grades and "
            "comments in the formgrader are kept)")


def stale_note(course: NbgraderCourse, assignment_id: str, stale: dict[str, str]) -> str:
    """The closing line when results graded by an older suite version remain: how many, and the command."""
    versions = ", ".join(sorted(set(stale.values())))
    count = len(stale)
    return (f"{count} result{' was' if count == 1 else 's were'} graded by an older suite version ({versions}): "
            f"autograder grade {shlex.quote(str(course.root))} {assignment_id} --stale regrades "
            f"{'it' if count == 1 else 'them'}")


def inline_note(course: NbgraderCourse, assignment_id: str) -> str:
    """The closing line of an assignment graded by its inline tests: what that means, and the way out."""
    return INLINE_NOTE.format(id=assignment_id, root=shlex.quote(str(course.course_root())))


def configured_ray(course: NbgraderCourse) -> str:
    """The Ray cluster the course config names (``c.SandboxedGrading.ray_address``), "" for none."""
    return str(course.config().SandboxedGrading.get("ray_address", ""))


def summary_table(course: NbgraderCourse, assignment_id: str, results: dict[str, JobResult],
                  expected: dict[str, dict] | None) -> Table:
    gradebook = course.scores(assignment_id)
    # Columns in the notebook's order, which is the order students meet the exercises in.
    assignment = Assignment(assignment_id, course.course_root())
    sources = sorted((course.source_dir() / assignment_id).glob("*.ipynb")) if uses_inline_tests(assignment) \
        else [assignment.source_notebook]  # an nbgrader assignment (inline tests) may have several notebooks
    notebook_order = [cell for path in sources for cell in autograded_cells(read_notebook(path))]
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
        if result.graded:
            row = [student, *(f"{scores.get(cell, 0):g}" for cell in cells), f"{total:g}"]
        else:  # no score at all: a 0 here would read as a grade (nbgrader keeps any earlier one)
            row = [student, *("-" for _ in cells), "[red]not graded[/]"]
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


def stopped_summary(events: list[str], shown: int = 3) -> str:
    """The sandbox's interventions for one submission, one per line (the record holds them all)."""
    lines = [event if len(event) <= 70 else event[:69] + "…" for event in events[:shown]]
    if len(events) > shown:
        lines.append(f"(+{len(events) - shown} more in the grading record)")
    return "\n".join(lines)
