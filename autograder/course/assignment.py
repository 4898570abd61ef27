"""Where a course's grading material lives, and how it is checked for sanity.

A course tree (this repository is one) holds, per assignment ``<id>``:

- ``assignments/source/<id>/<id>.ipynb``: the nbgrader source notebook;
- ``assignments/<id>/hidden/``: the hidden pytest suite (``test_*.py``) and
  ``assignment.toml`` (the sandbox limits, see `sandbox.Limits`);
- ``reference/<id>.py``: the reference implementation;
- ``data/``: course data, mounted read-only into every kernel.

None of the hidden or reference material is ever placed where nbgrader
copies files to students, nor mounted into a student's kernel.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..sandbox.confine import Limits

_SUITE_VERSION = re.compile(r"^SUITE_VERSION\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


class CourseError(ValueError):
    """The course material is incomplete or inconsistent: the message names the file and the fix."""


@dataclass(frozen=True)
class Assignment:
    id: str
    root: Path

    @property
    def source_notebook(self) -> Path:
        return self.root / "assignments" / "source" / self.id / f"{self.id}.ipynb"

    @property
    def suite_dir(self) -> Path:
        return self.root / "assignments" / self.id / "hidden"

    @property
    def reference_path(self) -> Path:
        return self.root / "reference" / f"{self.id}.py"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def samples_dir(self) -> Path:
        return self.root / "assignments" / "samples" / self.id

    @property
    def config_path(self) -> Path:
        return self.suite_dir / "assignment.toml"

    def limits(self) -> Limits:
        try:
            return Limits.from_toml(self.config_path) if self.config_path.exists() else Limits()
        except (ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
            raise CourseError(f"{self.config_path}: {exc}") from None

    def required_data(self) -> list[str]:
        """Files under data/ the assignment needs, from ``[data] files = [...]`` in assignment.toml."""
        if not self.config_path.exists():
            return []
        with open(self.config_path, "rb") as handle:
            return list(tomllib.load(handle).get("data", {}).get("files", []))

    def suite_files(self) -> list[Path]:
        return sorted(p for p in self.suite_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    def suite_version(self) -> str:
        """The suite's declared version plus a fingerprint of everything that grades."""
        self.validate()
        digest = hashlib.sha256()
        for path in [*self.suite_files(), self.reference_path]:
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(path.read_bytes())
        declared = "unversioned"
        for path in self.suite_files():
            if path.suffix == ".py" and (match := _SUITE_VERSION.search(path.read_text())):
                declared = match.group(1)
        return f"{declared}+{digest.hexdigest()[:12]}"

    def validate(self) -> None:
        """Raise `CourseError` naming the missing or damaged piece and how to fix it."""
        if not self.suite_dir.is_dir() or not any(p.name.startswith("test_") for p in self.suite_files()):
            # An nbgrader assignment without the folder grades by its inline tests (gradebook.inline).
            raise CourseError(f"assignment {self.id}: no hidden suite at {self.suite_dir}/test_*.py; "
                              "write the hidden tests there before grading, or have `autograder migrate "
                              f"{self.root} {self.id}` write them from the notebook's inline tests "
                              "(docs/inline-tests.md)")
        if not self.reference_path.is_file():
            raise CourseError(f"assignment {self.id}: no reference implementation at {self.reference_path}")
        self.limits()
        missing = [name for name in self.required_data() if not (self.data_dir / name).is_file()]
        if missing:
            raise CourseError(f"assignment {self.id}: data file(s) {', '.join(missing)} missing from "
                              f"{self.data_dir} (required by {self.config_path}): build or restore them, "
                              "see data/README.md")
        check_grade_cells(read_notebook(self.source_notebook), self.source_notebook)

    def grade_cells(self) -> dict[str, float]:
        """Autograded grade cells of the source notebook: grade_id -> points."""
        return autograded_cells(read_notebook(self.source_notebook))


def assignments_with_samples(root: Path) -> list[str]:
    """Ids of the course tree's assignments that have a source notebook and a bundled sample class, sorted."""
    samples = root / "assignments" / "samples"
    return sorted(folder.name for folder in samples.iterdir() if folder.is_dir()
                  and Assignment(folder.name, root).source_notebook.is_file()) if samples.is_dir() else []


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, turning every kind of damage into a `CourseError` that names the file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise CourseError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{path}: not a readable notebook (invalid JSON: {exc}); "
                          "restore it from version control or the release") from None
    if type(data) is not dict or data.get("nbformat") != 4:
        version = data.get("nbformat") if type(data) is dict else None
        raise CourseError(f"{path}: nbformat {version} is not supported; open it in Jupyter and save it "
                          "(Jupyter writes nbformat 4)")
    try:
        notebook = nbformat.reads(text, as_version=4)  # also joins sources stored as lists of lines
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise CourseError(f"{path}: invalid notebook structure: {exc.message}; "
                          "restore it from version control or the release") from None
    return notebook


MAX_SOURCE_OUTPUT_BYTES = 2 * 2**20


def check_grade_cells(notebook: nbformat.NotebookNode, path: Path) -> None:
    """nbgrader metadata a source notebook must get right before anything is graded against it."""
    seen: dict[str, int] = {}
    for number, cell in enumerate(notebook.cells, start=1):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id")
        if not grade_id:
            raise CourseError(f"{path}: cell {number} has nbgrader metadata but no grade_id; "
                              "give it a unique id in the Create Assignment toolbar")
        if grade_id in seen:
            raise CourseError(f"{path}: grade_id {grade_id!r} is used by cells {seen[grade_id]} and {number}; "
                              "grade ids must be unique")
        seen[grade_id] = number
        if meta.get("grade"):
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise CourseError(f"{path}: grade cell {grade_id!r} has points {points!r}; "
                                  "set a number of points >= 0")
        size = sum(len(str(output)) for output in cell.get("outputs", []))
        if size > MAX_SOURCE_OUTPUT_BYTES:
            raise CourseError(f"{path}: cell {number} ({grade_id}) embeds {size // 2**20} MiB of outputs; "
                              "clear the notebook's outputs before release")
    if not autograded_cells(notebook):
        raise CourseError(f"{path}: no autograded grade cells (locked test cells with points); "
                          "nothing could be graded")


def autograded_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of the notebook's autograded (code, graded, not solution) cells."""
    cells: dict[str, float] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells
