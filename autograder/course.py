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
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .sandbox import Limits

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

    def limits(self) -> Limits:
        config = self.suite_dir / "assignment.toml"
        try:
            return Limits.from_toml(config) if config.exists() else Limits()
        except (ValueError, TypeError) as exc:
            raise CourseError(f"{config}: {exc}") from None

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
        """Raise `CourseError` naming the missing piece."""
        if not self.suite_dir.is_dir() or not any(p.name.startswith("test_") for p in self.suite_files()):
            raise CourseError(f"assignment {self.id}: no hidden suite at {self.suite_dir}/test_*.py; "
                              "write the hidden tests there before grading")
        if not self.reference_path.is_file():
            raise CourseError(f"assignment {self.id}: no reference implementation at {self.reference_path}")

    def grade_cells(self) -> dict[str, float]:
        """Autograded grade cells of the source notebook: grade_id -> points."""
        return autograded_cells(read_notebook(self.source_notebook))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, turning every kind of damage into a `CourseError` that names the file."""
    try:
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except FileNotFoundError:
        raise CourseError(f"{path}: file not found") from None
    except Exception as exc:
        raise CourseError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc}); "
                          "restore it from the release or re-download it") from None
    if notebook.get("nbformat") != 4:
        raise CourseError(f"{path}: nbformat {notebook.get('nbformat')} is not supported; save it as nbformat 4")
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise CourseError(f"{path}: invalid notebook structure: {exc.message}") from None
    return notebook


def autograded_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of the notebook's autograded (code, graded, not solution) cells."""
    cells: dict[str, float] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells
