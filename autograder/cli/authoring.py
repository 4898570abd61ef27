"""``check``: the course author's check of an assignment before release."""

from __future__ import annotations

from rich.table import Table

from ..authoring import check_assignment
from ..course.assignment import Assignment
from . import output


def check_command(assignment: Assignment, seeds: int, *, sample_class: bool = True) -> int:
    checks = check_assignment(assignment, seeds=seeds)
    table = Table(title=f"autograder check {assignment.id}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    for item in checks:
        table.add_row(item.name, "PASS" if item.ok else "[bold red]FAIL[/]", item.detail)
    output.console.print(table)
    return 0 if all(item.ok for item in checks) else 1
