"""`autograder similarity`: a01's sample class plus planted near-copies of one student, and hostile submissions.

No kernel runs: the course directory is nbgrader's layout (``release/``, ``submitted/``) with the release made
from the source notebook by nbgrader's own ClearSolutions, and the class written by `course.samples`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearSolutions

from autograder.cli import main
from autograder.course.samples import build_submission, fill_solutions, submit_samples, write_submission
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.reports.class_cells import read_class
from autograder.reports.normalize import normalize_cell
from autograder.reports.similarity import compare_class
from autograder.selftest.cases import TOY_ROOT

REPO = Path(__file__).resolve().parents[1]
A01 = "a01_gradient_descent"
SAMPLES = REPO / "assignments" / "samples" / A01
# Correct, each in a style of its own (their files' headers say so): they must not rank as copies.
OWN_STYLES = ("alice", "bob", "leo")
# Bob's names, as a copier renames them.
RENAMES = {"differences": "diffs", "error": "resid", "new_w": "w_next", "new_b": "b_next", "history": "curve",
           "X_batch": "xb", "y_batch": "yb", "parameter": "param", "epoch": "ep", "step": "it"}


def release(course: NbgraderCourse, root: Path, assignment: str) -> Path:
    """The release notebook as nbgrader writes it (solutions cleared by its own preprocessor)."""
    notebook = nbformat.read(root / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    notebook, _ = ClearSolutions().preprocess(notebook, {})
    path = course.root / "release" / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    return path


def renamed(text: str) -> str:
    for old, new in RENAMES.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def reformatted(text: str) -> str:
    """New comments and docstrings, blank lines, a different line layout: nothing the AST keeps."""
    text = text.replace('"""One prediction per row."""', '"""Predict y for every sample (my own docstring)."""')
    text = text.replace("def mse(y_hat, y):\n", "def mse(y_hat, y):\n    # mean of the squared errors\n\n")
    text = text.replace("return dw, db", "return (\n        dw,\n        db,\n    )")
    return re.sub(r"^# (?!%%).*$", "# my own notes", text, flags=re.M)


@pytest.fixture(scope="module")
def a01_course(tmp_path_factory: pytest.TempPathFactory) -> NbgraderCourse:
    """a01's sample class, plus three disguised copies of bob: renamed, reformatted, one literal changed."""
    course = NbgraderCourse.create(tmp_path_factory.mktemp("similarity") / "course", REPO)
    notebook = release(course, REPO, A01)
    submit_samples(SAMPLES, notebook, course.root / "submitted", A01)
    bob = (SAMPLES / "bob.py").read_text()
    planted = {"copy_renamed": renamed(bob), "copy_reformatted": reformatted(bob),
               "copy_literal": bob.replace("torch.tensor(1.5, dtype=x.dtype, requires_grad=True)\n    b =",
                                           "torch.tensor(2.0, dtype=x.dtype, requires_grad=True)\n    b =", 1)}
    assert all(text != bob for text in planted.values())
    for student, text in planted.items():
        sample = course.root / f"{student}.py"
        sample.write_text(text)
        write_submission(course.root / "submitted", student, A01, build_submission(notebook, sample))
    return course


def test_planted_copies_rank_on_top_and_styles_stay_apart(a01_course: NbgraderCourse) -> None:
    report = compare_class(read_class(a01_course.root, A01), threshold=0.0)
    ring = {"bob", "copy_renamed", "copy_reformatted", "copy_literal"}
    top = report.pairs[:6]
    print("\nmost alike pairs:", [(p.a, p.b, round(p.score, 2)) for p in report.pairs[:10]])
    assert all({pair.a, pair.b} <= ring for pair in top)
    assert min(pair.score for pair in top) >= 0.95
    assert max(pair.score for pair in report.pairs[6:]) < 0.8
    scores = {frozenset((p.a, p.b)): p.score for p in report.pairs}
    styles = {frozenset((a, b)): scores[frozenset((a, b))] for a in OWN_STYLES for b in OWN_STYLES if a < b}
    print("different styles:", {"/".join(sorted(k)): round(v, 2) for k, v in styles.items()})
    assert max(styles.values()) < 0.3
    # dave handed in the release unchanged, karl and carol left a stub each: the release's code counts for nothing
    assert all(not cell.grams for cell in report.cells["dave"].values())
    assert not report.cells["karl"]["mse_grad"].grams and not report.cells["carol"]["fit_quadratic"].grams
    assert not any("dave" in (p.a, p.b) for p in report.pairs)
    flagged = compare_class(read_class(a01_course.root, A01)).pairs
    assert not any({p.a, p.b} <= set(OWN_STYLES) for p in flagged)


def test_the_evidence_names_the_disguise(a01_course: NbgraderCourse) -> None:
    report = compare_class(read_class(a01_course.root, A01))
    pairs = {frozenset((p.a, p.b)): p for p in report.pairs}
    by_renamed = {m.key: m for m in pairs[frozenset(("bob", "copy_renamed"))].cells}
    assert all(m.same_after_normalising and m.method == "ast" for m in by_renamed.values())
    assert {("differences", "diffs")} <= set(by_renamed["mse"].renamed)
    assert ("history", "curve") in by_renamed["train_linear"].renamed
    literal = {m.key: m for m in pairs[frozenset(("bob", "copy_literal"))].cells}["fit_quadratic"]
    assert literal.same_after_normalising and literal.literals_changed == [("1.5", "2.0")]
    reformatted_pair = pairs[frozenset(("bob", "copy_reformatted"))]
    assert reformatted_pair.score == pytest.approx(1.0)
    assert max(literal.lines_a) == len(report.cells["bob"]["fit_quadratic"].source.splitlines())


def test_the_command_prints_the_ranking_and_writes_the_page(a01_course: NbgraderCourse, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "similarity.html"
    assert main(["similarity", str(a01_course.root), A01, "--html", str(page), "--show", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Similarity of a01_gradient_descent: 16 submissions, 120 pairs compared" in out
    assert "copy_renamed" in out and "renamed" in out
    html = page.read_text()
    assert "<script" not in html and "copy_literal" in html and "1.5→2.0" in html
    inside = a01_course.root / "feedback" / "similarity.html"
    assert main(["similarity", str(a01_course.root), A01, "--html", str(inside)]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "which nbgrader hands to students" in out and "Similarity of" not in out and not inside.exists()


def said(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command printed, its words joined by single spaces (the console wraps long lines)."""
    return " ".join(capsys.readouterr().out.split())


def test_missing_course_or_assignment_is_a_clear_message(a01_course: NbgraderCourse, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["similarity", str(tmp_path / "nowhere"), A01]) == 2
    assert "no such course directory" in said(capsys)
    assert main(["similarity", str(tmp_path), A01]) == 2
    assert "is not an nbgrader course" in said(capsys)
    assert main(["similarity", str(a01_course.root), "a99_missing"]) == 2
    out = said(capsys)
    assert "a99_missing has no notebook" in out and "released: a01_gradient_descent" in out
    assert main(["similarity", str(a01_course.root), "../../etc"]) == 2
    assert "is not an assignment id" in said(capsys)
    assert main(["similarity", str(a01_course.root), A01, "--threshold", "7"]) == 2


def test_hostile_submissions_get_a_line_each_not_a_crash(tmp_path: Path) -> None:
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT)
    notebook_path = release(course, TOY_ROOT, "toy")
    submitted = course.root / "submitted"
    honest = "def double(x):\n    total = x + x\n    return total\n"
    cells = {
        "amy": honest,
        "amy_copy": honest.replace("total", "result"),
        "huge": "x = 1\n" + "#" * 10_000_000,  # a 10 MB cell
        "deep": "def double(x):\n    return " + "-" * 50_000 + "x\n",  # the parser's own limit
        "deep_ok": "def double(x):\n    return x" + ".real" * 900 + "\n",  # parses: 900 levels the walk must take
        "magic": "%matplotlib inline\ndef double(x):\n    return x * 2 +\n",
        "<b>name": honest.replace("total", "t"),
    }
    for student, source in cells.items():
        write_submission(submitted, student, "toy", fill_solutions(notebook_path, {"double": source}))
    (submitted / "broken" / "toy").mkdir(parents=True)
    (submitted / "broken" / "toy" / "toy.ipynb").write_text('{"cells": [')
    (submitted / "nested" / "toy").mkdir(parents=True)
    (submitted / "nested" / "toy" / "toy.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    (submitted / "linked" / "toy").mkdir(parents=True)
    os.symlink(submitted / "amy" / "toy" / "toy.ipynb", submitted / "linked" / "toy" / "toy.ipynb")
    (submitted / "not_notebook" / "toy").mkdir(parents=True)
    (submitted / "not_notebook" / "toy" / "toy.ipynb").write_text(json.dumps({"cells": "no"}))

    report = compare_class(read_class(course.root, "toy"), threshold=0.0)
    notes = "\n".join(report.notes)
    print("\n" + notes)
    assert "huge: cell double is 10000 kB, over the 100 kB compared: not compared" in notes
    assert "deep: cell double compared as tokens: nested deeper than Python's parser allows" in notes
    assert "magic: cell double compared as tokens: it does not parse as Python (line 3: invalid syntax)" in notes
    assert "broken: toy.ipynb: not a readable notebook (invalid JSON" in notes
    assert "nested: toy.ipynb: not a readable notebook (JSON nested too deep)" in notes
    assert "linked: refused: toy.ipynb is a symbolic link" in notes
    assert "not_notebook: toy.ipynb: not a notebook (no list of cells)" in notes
    assert "deep_ok" not in notes
    assert "amy" in report.students and "linked" not in report.students
    page = tmp_path / "page.html"
    assert main(["similarity", str(course.root), "toy", "--html", str(page), "--threshold", "0"]) == 0
    assert "&lt;b&gt;name" in page.read_text() and "<b>name" not in page.read_text()


def test_normalising_is_blind_to_names_comments_and_literals_not_to_structure() -> None:
    a = normalize_cell("def f(x):\n    '''doc'''\n    total = x * 2  # double\n    return total\n")
    b = normalize_cell("def f(x):\n    out = (x *\n           3)\n\n    return out\n")
    c = normalize_cell("def f(x):\n    out = x + 3\n    return out\n")
    assert a.tokens == b.tokens != c.tokens
    assert normalize_cell("torch.zeros(3)").tokens != normalize_cell("torch.ones(3)").tokens


def test_an_assignment_of_two_notebooks_compares_cells_notebook_by_notebook(tmp_path: Path) -> None:
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT)
    single = release(course, TOY_ROOT, "toy")
    for part in ("part1", "part2"):
        (single.parent / f"{part}.ipynb").write_text(single.read_text())
    single.unlink()
    body = "def double(x):\n    doubled = torch.add(x, x)\n    return doubled.clone().contiguous()\n"
    for student, name in (("ann", "doubled"), ("ben", "twice")):
        for part in ("part1", "part2"):
            notebook = fill_solutions(single.parent / f"{part}.ipynb", {"double": body.replace("doubled", name)})
            folder = course.root / "submitted" / student / "toy"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, folder / f"{part}.ipynb")
    class_cells = read_class(course.root, "toy")
    assert set(class_cells.starter) == {"part1/double", "part1/square", "part2/double", "part2/square"}
    assert set(class_cells.submissions[0].cells) == set(class_cells.starter)
    report = compare_class(class_cells, threshold=0.0)
    pair = (report.pairs or [report.best_below])[0]  # two short cells: maybe under the shared runs a report needs
    assert {m.key for m in pair.cells} == {"part1/double", "part2/double"}
    assert all(m.renamed == [("doubled", "twice")] for m in pair.cells)
