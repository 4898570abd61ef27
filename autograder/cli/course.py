"""``init`` and ``new``: start a course directory, start an assignment in its course tree, say what comes next."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..authoring.scaffold import Written, init_course, new_assignment
from ..gradebook.course_dir import NbgraderCourse
from . import output


def init_command(course_dir: Path, *, course_tree: Path | None, course_id: str | None,
                 exchange: Path | None, db_url: str | None = None) -> int:
    written = init_course(course_dir, course_tree=course_tree, course_id=course_id, exchange=exchange,
                          db_url=db_url)
    root = written.root
    tree = (course_tree or root).resolve()
    _print_written(written)
    course_id = course_id or root.name
    where = shlex.quote(str(root))
    also = "" if tree == root else f" --course-root {shlex.quote(str(tree))}"
    output.console.print(f"""
[bold]Course {course_id} is ready in {root}[/] (grading with the course tree {tree}).
Next, from the venv (source .venv/bin/activate, or prefix .venv/bin/):
  1. start an assignment:   autograder new softmax_intro --course-root {shlex.quote(str(tree))}
     (or write your own: assignments/source/<id>/<id>.ipynb, assignments/<id>/hidden/, reference/<id>.py)
  2. check it:              autograder check softmax_intro --course-root {shlex.quote(str(tree))}
  3. release it:            cd {where} && nbgrader generate_assignment softmax_intro && \
nbgrader release_assignment softmax_intro
  4. students fetch and submit (their nbgrader_config.py: c.Exchange.root = {str(_exchange(written))!r}):
                            nbgrader fetch_assignment softmax_intro --course {course_id}; \
nbgrader submit softmax_intro --course {course_id}
  5. collect and grade:     autograder collect {where} softmax_intro && autograder grade {where} softmax_intro{also}
  6. export and feedback:   cd {where} && nbgrader export && nbgrader generate_feedback softmax_intro && \
nbgrader release_feedback softmax_intro
The README's "A new course" section walks through each step.""", highlight=False)
    return 0


def new_command(course_tree: Path, assignment_id: str) -> int:
    written = new_assignment(course_tree, assignment_id)
    _print_written(written)
    tree = shlex.quote(str(written.root))
    output.console.print(f"""
[bold]Assignment {assignment_id} is written[/]: a working starter (ReLU and softmax) to edit into yours.
  the notebook students get:   assignments/source/{assignment_id}/{assignment_id}.ipynb
  (solutions between ### BEGIN/END SOLUTION; public checks in locked grade cells with points)
  the hidden suite:            assignments/{assignment_id}/hidden/test_{assignment_id}.py
                               (guide: docs/suite-authoring.md; limits: assignment.toml, docs/configuration.md)
  the reference:               reference/{assignment_id}.py
  a sample class:              assignments/samples/{assignment_id}/ (one file per student, exact expected scores)
Check it before every release: autograder check {assignment_id} --course-root {tree}""", highlight=False)
    return 0


def _print_written(written: Written) -> None:
    for path in written.created:
        output.console.print(f"  created  {_shown(path, written.root)}", highlight=False)
    for path in written.kept:
        output.console.print(f"  kept     {_shown(path, written.root)} (exists: left as it was)", highlight=False)


def _shown(path: Path, root: Path) -> str:
    if path == root:
        return f"{root}/"
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _exchange(written: Written) -> Path:
    return Path(NbgraderCourse(written.root).config().Exchange.root)
