"""``migrate COURSE_ROOT ASSIGNMENT``: an assignment's inline nbgrader tests into a hidden suite, and what to review."""

from __future__ import annotations

import shlex
from pathlib import Path

from rich.markup import escape

from ..authoring.migrate import migrate
from ..course.assignment import Assignment
from . import output


def migrate_command(course_root: Path, assignment_id: str, *, force: bool, strip_inline: bool) -> int:
    migration = migrate(Assignment(assignment_id, course_root.resolve()), force=force, strip_inline=strip_inline)
    for path in migration.written:
        output.console.print(f"  wrote    {escape(str(path))}", highlight=False)
    for path in migration.stripped:
        output.console.print(f"  stripped {escape(str(path))} (its hidden tests now live in the suite only)",
                             highlight=False)
    translated = sum(test.translated for test in migration.tests)
    output.console.print(f"\n[bold]{assignment_id}: {translated} of {len(migration.tests)} grade cells' tests "
                         "translated[/]; review before grading:", highlight=False)
    for note in migration.notes:
        output.console.print(f"  - {escape(note)}", highlight=False)
    root = shlex.quote(str(course_root.resolve()))
    output.console.print(f"Then check it: autograder check {assignment_id} --course-root {root}", highlight=False)
    return 0
