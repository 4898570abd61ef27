"""The whole flow with real nbgrader commands: release, fetch, submit, collect, grade, export, feedback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main

from .conftest import CORRECT_TOY

pytestmark = pytest.mark.slow  # real nbgrader commands and real kernels

NBGRADER = str(Path(sys.executable).with_name("nbgrader"))


def nbgrader(*args: str, cwd: Path, exchange: Path) -> str:
    """Run a real nbgrader command; each person's HOME (and so nbgrader's submission cache) is their folder."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(cwd), "JUPYTER_DATA_DIR": str(cwd / ".jupyter-data")}
    command = [NBGRADER, *args, f"--Exchange.root={exchange}", "--CourseDirectory.course_id=dl-course"]
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout + completed.stderr


def test_release_submit_grade_export_feedback(toy_course, tmp_path, capsys):
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    course = toy_course.root
    nbgrader("release_assignment", "toy", cwd=course, exchange=exchange)

    for student, solutions in {"ann": CORRECT_TOY, "ben": {"square": CORRECT_TOY["square"]}}.items():
        home = tmp_path / student
        home.mkdir()
        nbgrader("fetch_assignment", "toy", cwd=home, exchange=exchange)
        path = home / "toy" / "toy.ipynb"
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in solutions:
                cell.source = solutions[grade_id]
        nbformat.write(notebook, path)
        nbgrader("submit", "toy", f"--student={student}", cwd=home, exchange=exchange)

    nbgrader("collect", "toy", cwd=course, exchange=exchange)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ann", "ben"]

    assert main(["grade", str(course), "toy"]) == 0
    summary = capsys.readouterr().out
    assert "ann" in summary and "ben" in summary and "Gradebook: toy" in summary

    nbgrader("export", "--to=grades.csv", cwd=course, exchange=exchange)
    with open(course / "grades.csv", newline="") as handle:
        scores = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(handle)}
    assert scores == {"ann": (4.0, 4.0), "ben": (1.0, 4.0)}

    nbgrader("generate_feedback", "toy", cwd=course, exchange=exchange)
    nbgrader("release_feedback", "toy", cwd=course, exchange=exchange)
    nbgrader("fetch_feedback", "toy", "--student=ben", cwd=tmp_path / "ben", exchange=exchange)
    (feedback_file,) = (tmp_path / "ben" / "toy" / "feedback").rglob("toy.html")
    feedback = feedback_file.read_text()
    assert "Hidden tests for test_double: 0 / 3 points" in feedback
    assert "double raised an exception" in feedback and "NotImplementedError" in feedback
