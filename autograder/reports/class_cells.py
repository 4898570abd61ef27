"""A class's solution cells, read from an nbgrader course directory as the hostile input they are.

`read_class` returns, for one assignment, the release's starter code of every solution cell (matched by
``grade_id``; from ``release/<assignment>/``, else the source notebooks with their solution regions cut out)
and each student's source of those cells from ``submitted/<student>/<assignment>/``.

A submission is the student's to shape: it is checked with `..gradebook.submissions.check_submission` (no
links, no special files, no notebook over its size limit, the folders above it real ones) and read through
`open_submitted_file` without following a link, like the grader reads it. Whatever is wrong with one student's
submission (refused, not JSON, not a notebook, a cell that is not text) becomes a line that says so, and the
rest of the class is still read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..course.assignment import CourseError
from ..gradebook.course_dir import NbgraderCourse
from ..gradebook.submissions import MAX_SUBMISSION_BYTES, SubmissionRefused, check_submission, open_submitted_file

_PLAIN_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


@dataclass
class Submission:
    """One student's solution cells (cell key -> source) and what could not be read of them."""

    student: str
    cells: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class ClassCells:
    """An assignment's starter code per solution cell, the class's submissions, and who could not be read."""

    assignment: str
    starter: dict[str, str]
    starter_from: Path
    submissions: list[Submission]
    refused: dict[str, str]


def shown(text: str) -> str:
    """A student-chosen name as printable text (a folder name may hold control characters)."""
    return text if text.isprintable() else ascii(text)


def read_class(course_dir: Path, assignment: str) -> ClassCells:
    """Every submission of ``assignment`` in the nbgrader course directory ``course_dir``.

    Raises `CourseError` for a course or assignment that is not there, with what there is.
    """
    if not course_dir.is_dir():
        raise CourseError(f"{course_dir}: no such course directory; give the nbgrader course directory (the folder "
                          "with nbgrader_config.py, submitted/ and release/)")
    course = NbgraderCourse(course_dir)
    course.config()  # refuses a folder that is not an nbgrader course, saying how to make one
    if not _PLAIN_ID.match(assignment):
        raise CourseError(f"{assignment!r} is not an assignment id (letters, digits, _, . and -), e.g. "
                          "a01_gradient_descent")
    starter_from, notebooks = _release_notebooks(course, assignment)
    starter = _starter_cells(notebooks)
    if not starter:
        raise CourseError(f"{starter_from} has no solution cells (cells marked solution in nbgrader's metadata): "
                          "nothing to compare")
    submitted = course.root / "submitted"
    students = sorted(name for name in _listdir(submitted) if os.path.lexists(submitted / name / assignment))
    if not students:
        raise CourseError(f"no submissions of {assignment} in {submitted}: collect them first with "
                          f"`autograder collect {course.root} {assignment}`")
    names = [path.name for path in notebooks]
    submissions, refused = [], {}
    for student in students:
        try:
            submissions.append(_read_submission(submitted, student, assignment, names, set(starter)))
        except SubmissionRefused as exc:
            refused[student] = f"refused: {exc}"
        except OSError as exc:
            refused[student] = f"could not be read: {exc.strerror or exc}"
    return ClassCells(assignment, starter, starter_from, submissions, refused)


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def _release_notebooks(course: NbgraderCourse, assignment: str) -> tuple[Path, list[Path]]:
    """Where the starter code comes from, and its notebooks: the release, else the source notebooks."""
    for folder in (course.root / "release" / assignment, course.source_dir() / assignment):
        notebooks = sorted(folder.glob("*.ipynb"))
        if notebooks:
            return folder, notebooks
    released = sorted(p.name for p in (course.root / "release").glob("*") if p.is_dir())
    sources = sorted(p.name for p in course.source_dir().glob("*") if p.is_dir())
    raise CourseError(f"assignment {assignment} has no notebook in {course.root / 'release' / assignment} or "
                      f"{course.source_dir() / assignment} (released: {', '.join(released) or 'none'}; in the "
                      f"source: {', '.join(sources) or 'none'}): check the id, or release it with "
                      f"`nbgrader generate_assignment {assignment}`")


def _key(notebook: str, grade_id: str, several: bool) -> str:
    return f"{notebook.removesuffix('.ipynb')}/{grade_id}" if several else grade_id


def _source(cell: dict) -> str | None:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _solution_cells(notebook: object) -> list[tuple[str, object]]:
    """(grade_id, cell) of every code cell marked as a solution, in order; anything malformed is skipped."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    found = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata")
        meta = meta.get("nbgrader") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and meta.get("solution") and isinstance(meta.get("grade_id"), str):
            found.append((meta["grade_id"], cell))
    return found


def _starter_cells(notebooks: list[Path]) -> dict[str, str]:
    """cell key -> the code a student is given in that solution cell (the instructor's notebooks: trusted)."""
    starter = {}
    for path in notebooks:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CourseError(f"{path}: not a readable notebook ({exc}); restore it from the source") from None
        for grade_id, cell in _solution_cells(data):
            source = _source(cell) or ""
            starter[_key(path.name, grade_id, len(notebooks) > 1)] = _SOLUTION_REGION.sub("", source)
    return starter


def _read_submission(submitted: Path, student: str, assignment: str, notebooks: list[str],
                     keys: set[str]) -> Submission:
    folder = submitted / student / assignment
    check_submission(folder, within=submitted)
    submission = Submission(student)
    for name in notebooks:
        try:
            with open_submitted_file(folder / name, within=submitted) as handle:
                text = handle.read(MAX_SUBMISSION_BYTES + 1)
        except FileNotFoundError:
            submission.problems.append(f"{name}: not in the submission")
            continue
        except UnicodeDecodeError:
            submission.problems.append(f"{name}: not a readable notebook (not UTF-8 text)")
            continue
        if len(text) > MAX_SUBMISSION_BYTES:
            submission.problems.append(f"{name}: over {MAX_SUBMISSION_BYTES // 2**20} MiB, not read")
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            submission.problems.append(f"{name}: not a readable notebook (invalid JSON: {exc})")
            continue
        except RecursionError:
            submission.problems.append(f"{name}: not a readable notebook (JSON nested too deep)")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            submission.problems.append(f"{name}: not a notebook (no list of cells)")
            continue
        _take_cells(submission, name, data, keys, several=len(notebooks) > 1)
    return submission


def _take_cells(submission: Submission, name: str, data: dict, keys: set[str], *, several: bool) -> None:
    for grade_id, cell in _solution_cells(data):
        key = _key(name, grade_id, several)
        if key not in keys:
            continue  # not a solution cell of the release: not the student's answer to compare
        if key in submission.cells:
            submission.problems.append(f"{shown(key)}: appears twice, the first compared")
            continue
        source = _source(cell)
        if source is None:
            submission.problems.append(f"{shown(key)}: its source is not text, not compared")
            continue
        submission.cells[key] = source
    missing = sorted(k for k in keys if k not in submission.cells and (not several or k.startswith(name[:-6] + "/")))
    if missing:
        submission.problems.append(f"{name}: no solution cell {', '.join(missing)} (deleted or renamed)")
