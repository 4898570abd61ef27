"""The course author's and the student's commands on the toy course."""

from __future__ import annotations

import nbformat
import pytest

from autograder.cli import main
from autograder.course.samples import fill_solutions

from .conftest import CORRECT_TOY, TOY_ROOT


@pytest.mark.slow
def test_check_passes_for_a_sound_assignment(capsys):
    assert main(["--course-root", str(TOY_ROOT), "check", "toy", "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    for line in ("reference scores full marks (seed 1, tolerances at 50%)",
                 "reference scores full marks (seed 2, tolerances at 50%)",
                 "release stubs score zero", "nothing hidden leaks into the release",
                 "points: notebook grade cells = hidden tests"):
        assert line in out
    assert "FAIL" not in out


@pytest.mark.slow
def test_check_catches_points_that_do_not_add_up(tmp_path, capsys):
    import shutil

    root = tmp_path / "course"
    shutil.copytree(TOY_ROOT, root)
    source = root / "assignments" / "source" / "toy" / "toy.ipynb"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_square":
            cell.metadata.nbgrader.points = 5
    nbformat.write(notebook, source)
    assert main(["--course-root", str(root), "check", "toy", "--seeds", "1"]) == 1
    assert "test_square: notebook says 5, hidden tests add up to 1" in capsys.readouterr().out


@pytest.mark.slow
def test_validate_reports_public_checks(toy_release, tmp_path, capsys):
    path = tmp_path / "toy.ipynb"
    nbformat.write(fill_solutions(toy_release, {"double": CORRECT_TOY["double"]}), path)
    assert main(["--course-root", str(TOY_ROOT), "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "PASS  test_double" in out and "FAIL  test_square" in out and "NotImplementedError" in out
    assert "1 of 2 public checks passed" in out


def test_a_damaged_notebook_gets_a_clear_message(tmp_path, capsys):
    path = tmp_path / "toy.ipynb"
    path.write_text("{not json")
    assert main(["--course-root", str(TOY_ROOT), "validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "toy.ipynb: not a readable notebook" in out
