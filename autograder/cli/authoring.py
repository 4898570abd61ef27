"""``check``: the course author's check of an assignment before release."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from ..authoring import check_assignment
from ..authoring.defaults import DEFAULT_CLASS_SEEDS
from ..course.assignment import Assignment
from . import output


def check_command(assignment: Assignment, seeds: int | Sequence[int], *, sample_class: bool = True,
                  class_seeds: int = DEFAULT_CLASS_SEEDS) -> int:
    """Print one row per check, a line between rows: a failure's detail holds whole messages, many lines long.

    A row's name stays on one line (it is what people search for); details are plain text, wrapped (a test id
    such as ``test_values[batch]`` is not markup).
    """
    checks = check_assignment(assignment, seeds=seeds, sample_class=sample_class, class_seeds=class_seeds)
    table = Table(title=f"autograder check {assignment.id}", show_lines=True, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for item in checks:
        table.add_row(Text(item.name), "PASS" if item.ok else "[bold red]FAIL[/]", Text(item.detail))
    output.console.print(table)
    return 0 if all(item.ok for item in checks) else 1
