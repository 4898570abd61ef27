"""The hostile cases (package data under ``hostile/``) and the toy course they are graded in."""

from __future__ import annotations

import copy
import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course.samples import expected_scores, fill_solutions, parse_sections
from ..sandbox.confine import Limits
from .categories import CATEGORIES

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parents[1]  # the source tree (site-packages when installed): a path an attacker may guess
HOSTILE_DIR = PACKAGE / "hostile"  # tests/hostile in the repository links here
TOY_ROOT = PACKAGE / "toy_course"
ASSIGNMENT = "toy"


# Tight limits keep the time-outs short; honest work in the toy course needs a fraction of each.
SELFTEST_LIMITS = Limits(notebook_timeout_s=90, cell_timeout_s=8, call_timeout_s=4, startup_timeout_s=60,
                         memory_mb=1024, processes=64, disk_mb=64, output_bytes=20_000, threads=1)
# Seconds per case, to share categories between workers: measured (a full run on a quiet 2-core machine, session
# 18, divided by each category's cases). The lookup cases grade a whole course assignment each.
CATEGORY_COST_S = {"comparison": 1.6, "unpickle": 4.2, "hidden_material": 1.9, "exhaustion": 4.6, "crash": 3.5,
                   "network": 2.1, "smuggle": 3.1, "notebook_json": 1.3, "links": 0.6, "banned_ops": 1.9,
                   "messages": 10.7, "lookup": 32.0, "leftovers": 3.0}

HONEST: dict[str, dict[str, str]] = {
    "honest_correct": {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"},
    "honest_partial": {"double": "def double(x):\n    return (x + x).float()"},
}
HONEST_SCORES = {"honest_correct": {"test_double": 3.0, "test_square": 1.0},
                 "honest_partial": {"test_double": 2.0, "test_square": 0.0}}

BANNED_OPS = ("aten::convolution",)


def selftest_suite() -> str:
    """The toy course's hidden suite with ``double`` graded under the banned-operator rule."""
    suite = (TOY_ROOT / "assignments" / ASSIGNMENT / "hidden" / "test_toy.py").read_text()
    edits = [('SUITE_VERSION = "toy-1"', f'SUITE_VERSION = "toy-selftest-1"\nBANNED = {BANNED_OPS!r}'),
             ("student.double(", "student.banning(*BANNED).double("),
             ('student.gradients("double"', 'student.banning(*BANNED).gradients("double"')]
    for old, new in edits:
        if old not in suite:
            raise RuntimeError(f"the toy suite changed: {old!r} is not in it; update selftest_suite()")
        suite = suite.replace(old, new)
    return suite

PLACEHOLDERS = ("PORT", "UDP_PORT", "UNIX_SOCKET", "ABSTRACT_SOCKET", "VICTIM_RUNTIME", "COURSE_DIR", "TREE_DIR",
                "REPO", "VENV")


# ----------------------------------------------------------------- cases


@dataclass(frozen=True)
class Plant:
    """One ``plant: KIND NAME [-> TARGET]`` line: a filesystem entry put in the submission folder after writing it.

    ``symlink NAME -> TARGET`` and ``hardlink NAME -> TARGET`` (TARGET with the
    ``@@NAME@@`` placeholders; NAME ``.`` is the submission folder itself, for a
    symlink), ``fifo NAME`` and ``socket NAME``. NAME is relative to the
    submission folder and may go through subfolders (created); an existing
    NAME (the notebook) is replaced.
    """

    kind: str
    name: str
    target: str = ""

    KINDS = ("symlink", "hardlink", "fifo", "socket")

    @classmethod
    def parse(cls, line: str) -> Plant:
        kind, _, rest = line.strip().partition(" ")
        name, arrow, target = (part.strip() for part in rest.partition("->"))
        if kind not in cls.KINDS or not name or bool(arrow) != (kind in ("symlink", "hardlink")) or (
                arrow and not target) or (name == "." and kind != "symlink"):
            raise ValueError(f"plant: {line!r}: want 'symlink|hardlink NAME -> TARGET' or 'fifo|socket NAME'")
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"plant: {line!r}: NAME is a path inside the submission folder")
        return cls(kind, name, target)

    def make(self, folder: Path, placeholders: dict[str, str]) -> None:
        """Put this entry in ``folder`` (a submission just written)."""
        target = self.target
        for key, value in placeholders.items():
            target = target.replace(f"@@{key}@@", value)
        path = folder / self.name if self.name != "." else folder
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "symlink":
            path.symlink_to(target)
        elif self.kind == "hardlink":
            os.link(target, path)
        elif self.kind == "fifo":
            os.mkfifo(path)
        else:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                server.bind(str(path))


@dataclass(frozen=True)
class HostileCase:
    """One hostile submission and what containing it means."""

    category: str
    name: str
    path: Path
    title: str
    sections: dict[str, str]
    expect: dict[str, float]
    reason: str = ""
    markers: tuple[str, ...] = ()
    edit: str = ""
    limit: str = ""
    refused: bool = False  # ``expect: refused``: the submission must be refused (no score, a reason)
    plants: tuple[Plant, ...] = ()  # ``plant:`` lines: links and special files planted in the submission folder
    assignment: str = ""  # ``assignment:`` a course assignment graded instead of the toy one (its own release)

    @property
    def graded_assignment(self) -> str:
        return self.assignment or ASSIGNMENT

    @property
    def student(self) -> str:
        return f"{self.category}-{self.name}".replace("_", "-")

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


_HEADER_KEYS = ("expect", "reason", "markers", "edit", "limit", "plant", "assignment", "sample")


def parse_case(path: Path, category: str) -> HostileCase:
    """Read a case file: its docstring header (title and ``key: value`` lines) and its sections."""
    text = path.read_text()
    header = re.split(r"^# %% \[", text, maxsplit=1, flags=re.MULTILINE)[0]
    docstring = re.search(r'"""(.*?)"""', header, re.DOTALL)
    if docstring is None:
        raise ValueError(f"{path}: a hostile case starts with a docstring saying what it tries")
    lines = docstring.group(1).strip().splitlines()
    values: dict[str, list[str]] = {key: [] for key in _HEADER_KEYS}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() in values:
            values[key.strip()].append(value.strip())
    expect = {}
    refused = " ".join(values["expect"]).strip() == "refused"
    for item in [] if refused else " ".join(values["expect"]).split():
        cell, _, score = item.partition("=")
        expect[cell] = float(score)
    sections, assignment = parse_sections(text), " ".join(values["assignment"])
    if values["sample"]:
        assignment, sections, expect = _sample_student(" ".join(values["sample"]), path)
    if not expect and not refused:
        raise ValueError(f"{path}: the header needs 'expect: test_x=N ...' (the grade cells' expected scores) "
                         "or 'expect: refused'")
    return HostileCase(category=category, name=path.stem, path=path, title=lines[0].strip(),
                       sections=sections, expect=expect, reason=" ".join(values["reason"]),
                       markers=tuple(" ".join(values["markers"]).split()), edit=" ".join(values["edit"]),
                       limit=" ".join(values["limit"]), refused=refused,
                       plants=tuple(Plant.parse(line) for line in values["plant"]),
                       assignment=assignment)


def _sample_student(sample: str, path: Path) -> tuple[str, dict[str, str], dict[str, float]]:
    """``sample: ID/STUDENT``: a sample student of the course tree's assignment ID is the case (its cells, scores)."""
    assignment, _, student = sample.partition("/")
    samples = REPO / "assignments" / "samples" / assignment
    try:
        sections = parse_sections((samples / f"{student}.py").read_text())
        expect = dict(expected_scores(samples)[student]["cells"])
    except (OSError, KeyError) as exc:
        raise ValueError(f"{path}: sample {sample!r} is not a sample student of this course tree ({exc})") from None
    return assignment, sections, expect


def load_cases(categories: list[str] | None = None, hostile_dir: Path = HOSTILE_DIR) -> list[HostileCase]:
    """Every hostile case, category by category in `CATEGORIES` order."""
    unknown = sorted(set(categories or ()) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                         f"known: {', '.join(CATEGORIES)}")
    cases = []
    for category in categories or list(CATEGORIES):
        for path in sorted((hostile_dir / category).glob("*.py")):
            cases.append(parse_case(path, category))
    return cases


# ----------------------------------------------------------------- notebook JSON edits


def _grade_cell(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _copy_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    twin = copy.deepcopy(cell)
    if "id" in twin:
        twin.id = uuid.uuid4().hex[:8]
    return twin


def edit_grade_cell_source_and_points(notebook: nbformat.NotebookNode) -> None:
    cell = _grade_cell(notebook, "test_double")
    cell.source = "print('ok')"
    cell.metadata.nbgrader.points = 100
    _grade_cell(notebook, "test_square").metadata.nbgrader.points = 100


def edit_kernelspec_and_checksums(notebook: nbformat.NotebookNode) -> None:
    notebook.metadata.kernelspec = {"name": "evil", "display_name": "Evil", "language": "python"}
    notebook.metadata.language_info = {"name": "python", "version": "0.0"}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is not None:
            meta["checksum"] = "0" * 32
            meta["locked"] = False


def edit_delete_grade_cell(notebook: nbformat.NotebookNode) -> None:
    notebook.cells.remove(_grade_cell(notebook, "test_double"))


def edit_duplicate_grade_ids(notebook: nbformat.NotebookNode) -> None:
    real = _grade_cell(notebook, "test_double")
    forged = _copy_cell(real)
    forged.source = "print('ok')"
    forged.metadata.nbgrader.points = 100
    notebook.cells.insert(notebook.cells.index(real), forged)
    twin = _copy_cell(_grade_cell(notebook, "test_square"))
    twin.source = "print('ok')"
    notebook.cells.append(twin)


def edit_extra_grade_cell(notebook: nbformat.NotebookNode) -> None:
    notebook.cells.append(nbformat.v4.new_code_cell("print('bonus')", metadata={"nbgrader": {
        "grade": True, "grade_id": "test_bonus", "locked": True, "points": 50, "schema_version": 3,
        "solution": False, "task": False}}))


def edit_grade_cell_made_solution(notebook: nbformat.NotebookNode) -> None:
    cell = _grade_cell(notebook, "test_double")
    cell.source = "def double(x):\n    return x * 2"
    cell.metadata.nbgrader.update(solution=True, locked=False, grade=False)
    square = _grade_cell(notebook, "test_square")
    markdown = nbformat.v4.new_markdown_cell("square is fine", metadata=copy.deepcopy(square.metadata))
    notebook.cells[notebook.cells.index(square)] = markdown


NOTEBOOK_EDITS: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "grade_cell_source_and_points": edit_grade_cell_source_and_points,
    "kernelspec_and_checksums": edit_kernelspec_and_checksums,
    "delete_grade_cell": edit_delete_grade_cell,
    "duplicate_grade_ids": edit_duplicate_grade_ids,
    "extra_grade_cell": edit_extra_grade_cell,
    "grade_cell_made_solution": edit_grade_cell_made_solution,
}


def build_notebook(release: Path, sections: dict[str, str], placeholders: dict[str, str],
                   edit: str = "") -> nbformat.NotebookNode:
    """The release notebook with ``sections`` in its solution cells (placeholders filled) and ``edit`` applied."""
    filled = {}
    for grade_id, source in sections.items():
        for name, value in placeholders.items():
            source = source.replace(f"@@{name}@@", value)
        filled[grade_id] = source
    notebook = fill_solutions(release, filled)
    if edit:
        NOTEBOOK_EDITS[edit](notebook)
    return notebook


def build_course_tree(root: Path) -> Path:
    """A copy of the toy course with the self-test's limits and its banned-operator suite."""
    shutil.copytree(TOY_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    hidden = root / "assignments" / ASSIGNMENT / "hidden"
    (hidden / "assignment.toml").write_text(SELFTEST_LIMITS.to_toml())
    (hidden / "test_toy.py").write_text(selftest_suite())
    return root


