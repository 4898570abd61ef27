"""Course material (autograder/course/assignment.py, samples.py) on small notebooks and trees in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.assignment import (
    Assignment,
    CourseError,
    assignments_with_samples,
    autograded_cells,
    check_grade_cells,
    read_notebook,
)
from autograder.course.samples import build_submission, fill_solutions, parse_sections, write_submission


def meta(grade_id: str | None, *, grade: bool, solution: bool, points=None) -> dict:
    nbgrader = {"grade": grade, "solution": solution, "locked": not solution, "schema_version": 3}
    if grade_id is not None:
        nbgrader["grade_id"] = grade_id
    if points is not None:
        nbgrader["points"] = points
    return {"nbgrader": nbgrader}


def source_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("# Exercise"),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=meta("double", grade=False, solution=True)),
        new_code_cell("assert double(1) == 2", metadata=meta("test_double", grade=True, solution=False, points=3)),
        new_markdown_cell("Explain.", metadata=meta("explain", grade=True, solution=True, points=2)),
        new_code_cell("def square(x):\n    return x * x", metadata=meta("square", grade=True, solution=True,
                                                                       points=1)),
        new_code_cell("assert square(2) == 4", metadata=meta("test_square", grade=True, solution=False,
                                                             points=1.5)),
        new_code_cell("import torch"),
    ])


@pytest.fixture
def tree(tmp_path) -> Path:
    """A course tree holding assignment ``ex``: source notebook, hidden suite, reference."""
    root = tmp_path / "course"
    source = root / "assignments" / "source" / "ex" / "ex.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(source_notebook(), source)
    hidden = root / "assignments" / "ex" / "hidden"
    hidden.mkdir(parents=True)
    (hidden / "test_ex.py").write_text('SUITE_VERSION = "ex-2"\n\ndef test_double(student):\n    pass\n')
    (hidden / "assignment.toml").write_text("[limits]\ncell_timeout_s = 5\n")
    (root / "reference").mkdir()
    (root / "reference" / "ex.py").write_text("def double(x):\n    return 2 * x\n")
    return root


# ----------------------------------------------------------------- read_notebook


def test_a_missing_notebook_is_named(tmp_path):
    path = tmp_path / "gone.ipynb"
    with pytest.raises(CourseError, match="file not found") as raised:
        read_notebook(path)
    assert str(raised.value).startswith(f"{path}: ")


@pytest.mark.parametrize("content", [b'{"cells": [', b"", b"not json at all", b"\xff\xfe\x00garbage"],
                         ids=["truncated", "empty", "text", "not utf-8"])
def test_an_unreadable_notebook_is_named(tmp_path, content):
    path = tmp_path / "ex.ipynb"
    path.write_bytes(content)
    with pytest.raises(CourseError, match=r"not a readable notebook \(invalid JSON: .*restore it") as raised:
        read_notebook(path)
    assert str(raised.value).startswith(f"{path}: ")


@pytest.mark.parametrize("data, version", [
    ({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}, "3"),
    ({"cells": [], "metadata": {}}, "None"),
    (["a", "list"], "None"),
    ("a string", "None"),
    ({"nbformat": "4", "cells": []}, "4"),
])
def test_a_notebook_of_another_format_is_named(tmp_path, data, version):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(CourseError, match=rf"nbformat {version} is not supported; open it in Jupyter") as raised:
        read_notebook(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_a_notebook_of_the_wrong_structure_is_named(tmp_path):
    path = tmp_path / "bad.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": 5}]}))
    with pytest.raises(CourseError, match="invalid notebook structure") as raised:
        read_notebook(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_a_sound_notebook_is_read_with_its_sources_joined(tmp_path):
    path = tmp_path / "ex.ipynb"
    data = json.loads(nbformat.writes(source_notebook()))
    data["cells"][1]["source"] = ["def double(x):\n", "    return 2 * x"]
    path.write_text(json.dumps(data))
    notebook = read_notebook(path)
    assert notebook.cells[1].source == "def double(x):\n    return 2 * x"
    assert autograded_cells(notebook) == {"test_double": 3.0, "test_square": 1.5}


# ----------------------------------------------------------------- check_grade_cells


def test_a_sound_source_notebook_passes(tmp_path):
    check_grade_cells(source_notebook(), tmp_path / "ex.ipynb")


def change(notebook: nbformat.NotebookNode, cell_id: str, **updates) -> nbformat.NotebookNode:
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell_id)
    cell.metadata.nbgrader.update(updates)
    return notebook


@pytest.mark.parametrize("notebook, message", [
    (change(source_notebook(), "test_square", grade_id="test_double"),
     "grade_id 'test_double' is used by cells 3 and 6; grade ids must be unique"),
    (change(source_notebook(), "square", grade_id="double"), "grade_id 'double' is used by cells 2 and 5"),
    (change(source_notebook(), "test_square", grade_id=""), "cell 6 has nbgrader metadata but no grade_id"),
    (new_notebook(cells=[new_code_cell("x", metadata=meta(None, grade=True, solution=False, points=1))]),
     "cell 1 has nbgrader metadata but no grade_id"),
    (new_notebook(cells=[new_code_cell("x", metadata=meta("t", grade=True, solution=False))]),
     "grade cell 't' has points None; set a number of points >= 0"),
    (change(source_notebook(), "test_double", points=-1), "grade cell 'test_double' has points -1"),
    (change(source_notebook(), "test_double", points="3"), "grade cell 'test_double' has points '3'"),
    (change(source_notebook(), "test_double", points=True), "grade cell 'test_double' has points True"),
    (change(source_notebook(), "explain", points=None), "grade cell 'explain' has points None"),
], ids=["duplicate test ids", "duplicate solution ids", "empty id", "no id", "missing points", "negative points",
        "points as text", "points as bool", "manual cell without points"])
def test_inconsistent_grade_cells_are_refused_naming_the_file(tmp_path, notebook, message):
    path = tmp_path / "ex.ipynb"
    with pytest.raises(CourseError, match=message) as raised:
        check_grade_cells(notebook, path)
    assert str(raised.value).startswith(f"{path}: ")


@pytest.mark.parametrize("cells", [
    [],
    [new_code_cell("print(1)"), new_markdown_cell("text")],
    [new_code_cell("def f(): pass", metadata=meta("f", grade=False, solution=True))],
    [new_markdown_cell("Explain.", metadata=meta("explain", grade=True, solution=True, points=2))],
    [new_code_cell("x = 1", metadata=meta("graded_solution", grade=True, solution=True, points=2))],
], ids=["empty", "plain cells", "solution only", "manually graded only", "graded solution only"])
def test_a_notebook_without_autograded_cells_is_refused(tmp_path, cells):
    path = tmp_path / "ex.ipynb"
    with pytest.raises(CourseError, match="no autograded grade cells") as raised:
        check_grade_cells(new_notebook(cells=cells), path)
    assert str(raised.value).startswith(f"{path}: ")


def test_a_grade_cell_worth_zero_points_is_allowed(tmp_path):
    check_grade_cells(change(source_notebook(), "test_square", points=0), tmp_path / "ex.ipynb")


def test_embedded_outputs_over_the_limit_are_refused(tmp_path):
    notebook = source_notebook()
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 3 * 2**20)]
    with pytest.raises(CourseError, match=r"cell 3 \(test_double\) embeds 3 MiB of outputs"):
        check_grade_cells(notebook, tmp_path / "ex.ipynb")


# ----------------------------------------------------------------- autograded_cells


def test_autograded_cells_are_the_locked_code_cells_with_points():
    assert autograded_cells(source_notebook()) == {"test_double": 3.0, "test_square": 1.5}
    assert all(type(points) is float for points in autograded_cells(source_notebook()).values())


def test_an_autograded_cell_without_points_counts_zero():
    notebook = new_notebook(cells=[new_code_cell("x", metadata=meta("t", grade=True, solution=False))])
    assert autograded_cells(notebook) == {"t": 0.0}
    assert autograded_cells(new_notebook()) == {}


# ----------------------------------------------------------------- parse_sections and samples


def test_parse_sections_splits_a_sample_by_grade_id():
    text = ("# a sample student: ignored preamble\nimport os\n"
            "# %% [double]\n\ndef double(x):\n    return x + x\n\n\n"
            "# %% [square-v2]   \ndef square(x):\n    return x ** 2")
    assert parse_sections(text) == {"double": "def double(x):\n    return x + x\n",
                                    "square-v2": "def square(x):\n    return x ** 2\n"}


def test_parse_sections_edge_cases():
    assert parse_sections("") == {}
    assert parse_sections("def f():\n    pass\n") == {}
    assert parse_sections("# %% [empty]\n") == {"empty": "\n"}
    assert parse_sections("#%% [nospace]\nx = 1\n") == {}  # the marker is exactly "# %% [id]"
    with pytest.raises(ValueError, match=r"section \[a\] appears twice"):
        parse_sections("# %% [a]\nx = 1\n# %% [a]\nx = 2\n")
    assert parse_sections("    # %% [indented]\nx\n") == {}
    assert parse_sections("# %% [a]\n# %% [b]\ny\n") == {"a": "\n", "b": "y\n"}


def test_fill_solutions_and_build_submission(tmp_path):
    release = tmp_path / "ex.ipynb"
    nbformat.write(source_notebook(), release)
    filled = fill_solutions(release, {"double": "def double(x):\n    return x + x\n"})
    assert filled.cells[1].source == "def double(x):\n    return x + x\n"
    assert filled.cells[4].source == source_notebook().cells[4].source  # other solution cells keep their stub
    with pytest.raises(ValueError, match="sections nope, test_double match no solution cell"):
        fill_solutions(release, {"test_double": "x", "nope": "y", "double": "z"})
    sample = tmp_path / "amy.py"
    sample.write_text("# %% [unknown]\nx = 1\n")
    with pytest.raises(ValueError, match=rf"^{sample}: sections unknown match no solution cell"):
        build_submission(release, sample)


def test_write_submission_replaces_what_was_there(tmp_path):
    old = write_submission(tmp_path / "submitted", "amy", "ex", source_notebook(), timestamp="t1")
    (old.parent / "stray.txt").write_text("left over")
    path = write_submission(tmp_path / "submitted", "amy", "ex", source_notebook(), timestamp="t2")
    assert path == tmp_path / "submitted" / "amy" / "ex" / "ex.ipynb"
    assert sorted(p.name for p in path.parent.iterdir()) == ["ex.ipynb", "timestamp.txt"]
    assert (path.parent / "timestamp.txt").read_text() == "t2"


# ----------------------------------------------------------------- Assignment


def test_the_paths_of_an_assignment(tree):
    assignment = Assignment("ex", tree)
    assert assignment.source_notebook == tree / "assignments" / "source" / "ex" / "ex.ipynb"
    assert assignment.suite_dir == tree / "assignments" / "ex" / "hidden"
    assert assignment.reference_path == tree / "reference" / "ex.py"
    assert assignment.config_path == assignment.suite_dir / "assignment.toml"
    assert assignment.limits().cell_timeout_s == 5.0
    assert assignment.grade_cells() == {"test_double": 3.0, "test_square": 1.5}
    assignment.validate()


def test_suite_version_is_declared_plus_a_fingerprint(tree):
    version = Assignment("ex", tree).suite_version()
    declared, _, digest = version.partition("+")
    assert declared == "ex-2" and len(digest) == 12
    assert Assignment("ex", tree).suite_version() == version  # stable


@pytest.mark.parametrize("edit", [
    lambda root: (root / "assignments/ex/hidden/test_ex.py").write_text(
        'SUITE_VERSION = "ex-2"\n\ndef test_double(student):\n    assert False\n'),
    lambda root: (root / "assignments/ex/hidden/test_more.py").write_text("def test_more(student):\n    pass\n"),
    lambda root: (root / "assignments/ex/hidden/helpers").mkdir() or
    (root / "assignments/ex/hidden/helpers/inputs.json").write_text("[1, 2]"),
    lambda root: (root / "assignments/ex/hidden/assignment.toml").write_text("[limits]\ncell_timeout_s = 6\n"),
    lambda root: (root / "reference/ex.py").write_text("def double(x):\n    return x + x\n"),
    lambda root: (root / "assignments/ex/hidden/test_ex.py").rename(root / "assignments/ex/hidden/test_ex2.py"),
], ids=["suite edited", "suite file added", "data file added", "limits changed", "reference changed",
        "suite file renamed"])
def test_suite_version_changes_when_anything_that_grades_changes(tree, edit):
    before = Assignment("ex", tree).suite_version()
    edit(tree)
    after = Assignment("ex", tree).suite_version()
    assert after != before and after.startswith("ex-2+")


def test_suite_version_ignores_caches_and_the_notebook(tree):
    before = Assignment("ex", tree).suite_version()
    cache = tree / "assignments/ex/hidden/__pycache__"
    cache.mkdir()
    (cache / "test_ex.cpython-311.pyc").write_bytes(b"\0" * 10)
    source = tree / "assignments/source/ex/ex.ipynb"
    notebook = nbformat.read(source, as_version=4)
    notebook.cells[0].source = "# Exercise, reworded"
    nbformat.write(notebook, source)
    assert Assignment("ex", tree).suite_version() == before


def test_an_undeclared_suite_is_unversioned(tree):
    (tree / "assignments/ex/hidden/test_ex.py").write_text("def test_double(student):\n    pass\n")
    assert Assignment("ex", tree).suite_version().startswith("unversioned+")


def test_suite_version_refuses_an_incomplete_assignment(tree):
    (tree / "reference/ex.py").unlink()
    with pytest.raises(CourseError, match=r"no reference implementation at .*reference/ex\.py"):
        Assignment("ex", tree).suite_version()
    with pytest.raises(CourseError, match=r"no hidden suite at .*test_\*\.py"):
        Assignment("other", tree).suite_version()


def test_a_broken_limits_file_is_a_course_error_naming_it(tree):
    config = tree / "assignments/ex/hidden/assignment.toml"
    config.write_text("[limits]\nmemory_mb = 'lots'\n")
    with pytest.raises(CourseError, match=r"assignment\.toml.*memory_mb = 'lots' must be int"):
        Assignment("ex", tree).validate()
    config.write_text("[limits\n")
    with pytest.raises(CourseError, match=r"assignment\.toml"):
        Assignment("ex", tree).limits()


def test_required_data_must_exist(tree):
    config = tree / "assignments/ex/hidden/assignment.toml"
    config.write_text('[data]\nfiles = ["points.csv"]\n')
    assert Assignment("ex", tree).required_data() == ["points.csv"]
    with pytest.raises(CourseError, match=r"data file\(s\) points\.csv missing"):
        Assignment("ex", tree).validate()
    (tree / "data").mkdir()
    (tree / "data" / "points.csv").write_text("x,y\n")
    Assignment("ex", tree).validate()


def test_the_demo_finds_every_assignment_with_a_sample_class(tmp_path):
    for assignment_id, has_notebook in (("b_two", True), ("a_one", True), ("c_no_notebook", False)):
        (tmp_path / "assignments" / "samples" / assignment_id).mkdir(parents=True)
        if has_notebook:
            notebook = Assignment(assignment_id, tmp_path).source_notebook
            notebook.parent.mkdir(parents=True)
            notebook.write_text("{}")
    assert assignments_with_samples(tmp_path) == ["a_one", "b_two"]
    assert assignments_with_samples(tmp_path / "nowhere") == []
