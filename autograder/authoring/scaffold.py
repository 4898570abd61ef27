"""Starting a course (`init_course`) and an assignment in it (`new_assignment`).

``autograder init COURSE_DIR`` writes a complete nbgrader course directory
that grades in the sandbox: ``nbgrader_config.py`` (course id, exchange,
the course tree to grade with), the exchange, and, when the course tree is
the course directory itself, its skeleton (``assignments/source/``,
``reference/``, ``data/``) and a ``.gitignore`` that keeps students' work and
the grading secret out of version control. ``autograder new ID`` writes the
starter assignment of `.starter` into a course tree. Neither ever replaces
a file that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import nbformat

from ..course.assignment import Assignment, CourseError
from ..gradebook.course_dir import NbgraderCourse
from ..gradebook.postgres import check_database
from ..sandbox.confine import Limits
from . import starter

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

GITIGNORE = """\
# Written by `autograder init`. Students' work, grades and the grading secret stay out of version control.
gradebook.db
exchange/
submitted/
autograded/
feedback/
release/
grading_results/
*.csv
.ipynb_checkpoints/
__pycache__/
"""

DATA_README = """\
# Course data

Everything a notebook or a hidden suite reads lives here, built or shipped with the course: nothing is
downloaded at run time. The folder is mounted read-only at `~/data` inside every student kernel. Name the
files an assignment needs under `[data] files = [...]` in its `assignment.toml`; grading refuses to start
while one is missing.

| assignment | data | provenance | licence |
| --- | --- | --- | --- |
"""


@dataclass
class Written:
    """What a scaffolding step wrote (new files and folders) and what it left as it was."""

    root: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def write(self, path: Path, text: str) -> None:
        if path.exists():
            self.kept.append(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.created.append(path)

    def folder(self, path: Path) -> None:
        if not path.is_dir():
            path.mkdir(parents=True)
            self.created.append(path)


def init_course(course_dir: Path, *, course_tree: Path | None = None, course_id: str | None = None,
                exchange: Path | None = None, db_url: str | None = None) -> Written:
    """Make ``course_dir`` an nbgrader course that grades ``course_tree`` (default: ``course_dir`` itself).

    ``db_url``: the gradebook's database (e.g. the department's PostgreSQL); None: ``gradebook.db`` in the course.
    """
    course_dir = course_dir.resolve()
    course_id = course_id or course_dir.name
    if not _COURSE_ID.match(course_id):
        raise CourseError(f"course id {course_id!r} is not usable by nbgrader: use letters, digits, '.', '-' "
                          "and '_' (pass --course-id)")
    if (course_dir / "nbgrader_config.py").exists():
        raise CourseError(f"{course_dir} is already an nbgrader course (it has nbgrader_config.py): edit that "
                          "file, or init another folder")
    if course_dir.exists() and not course_dir.is_dir():
        raise CourseError(f"{course_dir} is a file: pick a new or empty folder for the course")
    if db_url is not None:
        check_database(db_url)  # before anything is written
    tree = (course_tree or course_dir).resolve()
    if course_tree is not None and not (tree / "assignments" / "source").is_dir():
        raise CourseError(f"--course-root {tree} has no assignments/source/: give the tree holding "
                          "assignments/, reference/ and data/, or leave it out to start one in the course directory")
    written = Written(course_dir)
    written.folder(course_dir)
    for folder in (tree / "assignments" / "source", tree / "reference", tree / "data"):
        written.folder(folder)
    if tree == course_dir:
        written.write(course_dir / ".gitignore", GITIGNORE)
        written.write(tree / "data" / "README.md", DATA_README)
    if exchange is not None:
        written.folder(exchange.resolve())
    NbgraderCourse.create(course_dir, tree, course_id=course_id, exchange=exchange, db_url=db_url)
    written.created.append(course_dir / "nbgrader_config.py")
    if exchange is None:
        written.created.append(course_dir / "exchange")
    return written


def new_assignment(course_tree: Path, assignment_id: str) -> Written:
    """Write the starter assignment ``assignment_id`` into ``course_tree``; refuse an id already in use."""
    if not _ID.match(assignment_id):
        raise CourseError(f"assignment id {assignment_id!r}: start with a letter, then letters, digits and '_' "
                          "(it names the notebook, the reference module and the hidden suite)")
    assignment = Assignment(assignment_id, course_tree.resolve())
    taken = [path for path in (assignment.source_notebook.parent, assignment.suite_dir, assignment.reference_path,
                               assignment.samples_dir) if path.exists()]
    if taken:
        raise CourseError(f"assignment {assignment_id} exists already ({taken[0]}): pick another id")
    title = assignment_id.replace("_", " ").capitalize()

    def substitute(text: str) -> str:
        return Template(text).safe_substitute(assignment=assignment_id, title=title)

    written = Written(assignment.root)
    written.folder(assignment.source_notebook.parent)
    written.write(assignment.source_notebook, nbformat.writes(starter.notebook(substitute)) + "\n")
    written.write(assignment.reference_path, substitute(starter.REFERENCE))
    written.write(assignment.suite_dir / f"test_{assignment_id}.py", substitute(starter.SUITE))
    written.write(assignment.config_path, "# Sandbox limits of this assignment (all keys: docs/configuration.md).\n"
                  + Limits().to_toml())
    for student, text in starter.SAMPLES.items():
        written.write(assignment.samples_dir / f"{student}.py", text)
    written.write(assignment.samples_dir / "expected_scores.json", starter.expected_scores_json())
    return written
