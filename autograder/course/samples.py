"""Sample submissions: a bundled class built from short Python files.

Each student of a sample class is ``assignments/samples/<id>/<student>.py``,
split into sections ``# %% [<grade_id>]``; a section replaces the solution
cell with that grade_id in the release notebook, other solution cells keep
their stub. Building from the release keeps the samples valid whenever the
source notebook changes. ``expected_scores.json`` beside them holds the score
each student must get.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import nbformat

SAMPLE_TIMESTAMP = "2026-11-20 12:00:00.000000 UTC"
_SECTION = re.compile(r"^# %% \[([A-Za-z0-9_\-]+)\][ \t]*$", re.MULTILINE)


def parse_sections(text: str) -> dict[str, str]:
    """grade_id -> cell source of a sample file."""
    parts = _SECTION.split(text)
    sections: dict[str, str] = {}
    for grade_id, body in zip(parts[1::2], parts[2::2], strict=True):
        if grade_id in sections:
            raise ValueError(f"section [{grade_id}] appears twice: one solution cell, one section")
        sections[grade_id] = body.strip("\n") + "\n"
    return sections


def fill_solutions(release_notebook: Path, sections: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with ``sections`` (grade_id -> source) in its solution cells."""
    notebook = nbformat.read(release_notebook, as_version=4)
    solution_ids = set()
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in sections:
            cell.source = sections[meta["grade_id"]]
            solution_ids.add(meta["grade_id"])
    unknown = sorted(set(sections) - solution_ids)
    if unknown:
        raise ValueError(f"sections {', '.join(unknown)} match no solution cell of {release_notebook}")
    return notebook


def build_submission(release_notebook: Path, sample: Path) -> nbformat.NotebookNode:
    """The release notebook with the sample's sections filled into its solution cells."""
    try:
        return fill_solutions(release_notebook, parse_sections(sample.read_text()))
    except ValueError as exc:
        raise ValueError(f"{sample}: {exc}") from None


def write_submission(submitted_dir: Path, student: str, assignment: str, notebook: nbformat.NotebookNode,
                     timestamp: str = SAMPLE_TIMESTAMP) -> Path:
    """Write ``notebook`` where nbgrader collects it (``submitted/<student>/<assignment>/``), replacing any."""
    target = submitted_dir / student / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    path = target / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    (target / "timestamp.txt").write_text(timestamp)
    return path


def sample_students(samples_dir: Path) -> list[Path]:
    return sorted(samples_dir.glob("*.py"))


def expected_scores(samples_dir: Path) -> dict[str, dict]:
    scores = json.loads((samples_dir / "expected_scores.json").read_text())
    return {student: value for student, value in scores.items() if not student.startswith("_")}


def submit_samples(samples_dir: Path, release_notebook: Path, submitted_dir: Path, assignment: str,
                   timestamp: str = SAMPLE_TIMESTAMP) -> list[str]:
    """Write every sample as an nbgrader submission under ``submitted_dir``; return the student ids."""
    students = []
    for sample in sample_students(samples_dir):
        write_submission(submitted_dir, sample.stem, assignment, build_submission(release_notebook, sample), timestamp)
        students.append(sample.stem)
    return students


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.course.samples SAMPLE NOTEBOOK``: write a sample student's answers into a notebook.

    For trying a sample student in Jupyter, or playing one in a walk-through: each section of SAMPLE replaces
    the solution cell of NOTEBOOK (a release notebook) with that grade_id.
    """
    parser = argparse.ArgumentParser(prog="python -m autograder.course.samples",
                                     description="Write a sample student's answers into a notebook.")
    parser.add_argument("sample", type=Path, help="a sample student's file (assignments/samples/<id>/<student>.py)")
    parser.add_argument("notebook", type=Path, help="the notebook to fill in (a fetched or released one)")
    args = parser.parse_args(argv)
    try:
        nbformat.write(build_submission(args.notebook, args.sample), args.notebook)
    except (ValueError, OSError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
