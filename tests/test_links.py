"""Submissions holding links are refused before anything reads through them: in collect, in grade, in nbgrader.

First the check and the link-free copy on their own (every kind of link and
special file, nested ones, the folder itself, a link swapped in mid-copy),
then the real routes: the exchange (release, fetch, submit as the students,
links planted in ``inbound/``, ``autograder collect`` and ``nbgrader
collect``), ``autograder grade`` over links planted in ``submitted/``, and
``nbgrader autograde`` run directly, without our check first.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from rich.console import Console

from autograder.cli import main
from autograder.course.samples import fill_solutions
from autograder.gradebook.course_dir import NbgraderCourse, NbgraderError
from autograder.gradebook.submissions import SubmissionRefused, check_submission, copy_submission
from autograder.grading.job import GradingRecords

from .conftest import CORRECT_TOY, submit

NBGRADER = str(Path(sys.executable).with_name("nbgrader"))
SOLUTION_MARK = "BEGIN SOLUTION"  # only the instructor's source notebook holds it
SECRET = "the instructor's secret"


# ----------------------------------------------------------------- the check and the copy


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A student's submission folder (notebook, a data file in a subfolder) and the instructor's secret beside it."""
    folder = tmp_path / "submitted" / "ann" / "toy"
    (folder / "data").mkdir(parents=True)
    (folder / "toy.ipynb").write_text('{"cells": []}')
    (folder / "data" / "points.csv").write_text("1,2\n")
    secret = tmp_path / "source" / "toy.ipynb"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    return {"folder": folder, "secret": secret, "submitted": tmp_path / "submitted"}


def _replace(path: Path) -> Path:
    if path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _make_device(path: Path) -> None:
    try:
        os.mknod(_replace(path), stat.S_IFCHR | 0o600, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("this host does not let us create device files (nor can a student)")


def _make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(_replace(path)))


PLANTS = {
    "file symlink": (lambda t: _replace(t["folder"] / "toy.ipynb").symlink_to(t["secret"]),
                     r"^toy\.ipynb is a symbolic link \(to .*source/toy\.ipynb\): submit your notebook file itself"),
    "dangling symlink": (lambda t: (t["folder"] / "gone.py").symlink_to("/nonexistent"),
                         r"^gone\.py is a symbolic link"),
    "symlink loop": (lambda t: (t["folder"] / "loop").symlink_to("loop"), r"^loop is a symbolic link"),
    "folder symlink": (lambda t: (t["folder"] / "ref").symlink_to(t["secret"].parent), r"^ref is a symbolic link"),
    "nested symlink": (lambda t: _replace(t["folder"] / "a" / "b" / "c" / "x.ipynb").symlink_to(t["secret"]),
                       r"^a/b/c/x\.ipynb is a symbolic link"),
    "hard link": (lambda t: os.link(t["secret"], _replace(t["folder"] / "toy.ipynb")),
                  r"^toy\.ipynb is a hard link \(a file with 2 names"),
    "nested hard link": (lambda t: os.link(t["secret"], t["folder"] / "data" / "copy.txt"),
                         r"^data/copy\.txt is a hard link"),
    "named pipe": (lambda t: os.mkfifo(t["folder"] / "data" / "pipe"), r"^data/pipe is a named pipe"),
    "socket": (lambda t: _make_socket(t["folder"] / "sock"), r"^sock is a socket"),
    "device": (lambda t: _make_device(t["folder"] / "data" / "null"), r"^data/null is a character device"),
    "submission folder symlink": (
        lambda t: (shutil.rmtree(t["folder"]), t["folder"].symlink_to(t["secret"].parent)),
        r"^the submission folder ann/toy is a symbolic link \(to .*source\)"),
    "student folder symlink": (
        lambda t: (t["folder"].parent.rename(t["submitted"] / "ben"), t["folder"].parent.symlink_to("ben")),
        r"^the submission folder ann is a symbolic link \(to ben\)"),
}


def test_an_ordinary_submission_passes_and_copies_faithfully(tree, tmp_path):
    (tree["folder"] / "toy.ipynb").chmod(0o640)
    check_submission(tree["folder"], within=tree["submitted"])
    copy = tmp_path / "copy"
    copy_submission(tree["folder"], copy)
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == ["data", "data/points.csv", "toy.ipynb"]
    assert (copy / "data" / "points.csv").read_text() == "1,2\n"
    assert stat.S_IMODE((copy / "toy.ipynb").stat().st_mode) == 0o640
    assert (copy / "toy.ipynb").stat().st_mtime == (tree["folder"] / "toy.ipynb").stat().st_mtime
    check_submission(tmp_path / "submitted" / "nobody" / "toy", within=tree["submitted"])  # missing: nbgrader says


@pytest.mark.parametrize("kind", list(PLANTS))
def test_check_refuses_every_kind_of_link_and_special_file(tree, kind):
    plant, reason = PLANTS[kind]
    plant(tree)
    with pytest.raises(SubmissionRefused, match=reason):
        check_submission(tree["folder"], within=tree["submitted"])


@pytest.mark.parametrize("kind", [k for k in PLANTS if k != "student folder symlink"])
def test_copy_refuses_links_by_itself_and_leaves_nothing(tree, tmp_path, kind):
    """A link planted after the check (here: no check at all) is refused by the copy, not read through."""
    check_submission(tree["folder"], within=tree["submitted"])
    plant, reason = PLANTS[kind]
    plant(tree)
    copy = tmp_path / "copy"
    with pytest.raises(SubmissionRefused, match=reason.replace("the submission folder ann/toy", "the submission "
                                                               "folder toy")):
        copy_submission(tree["folder"], copy)
    assert not copy.exists()


def test_copy_never_reads_through_a_link_swapped_in_while_it_copies(tree, tmp_path):
    """The notebook flips between the student's file and links to the secret as fast as rename allows."""
    folder = tree["folder"]
    honest, symlink, hardlink = folder.parent / "honest", folder.parent / "symlink", folder.parent / "hardlink"
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for planted in (symlink, hardlink):
                honest.write_text('{"cells": []}')
                os.rename(honest, folder / "toy.ipynb")
                if planted is symlink:
                    planted.symlink_to(tree["secret"])
                else:
                    os.link(tree["secret"], planted)
                os.rename(planted, folder / "toy.ipynb")

    flipper = threading.Thread(target=flip)
    flipper.start()
    outcomes = {"copied": 0, "refused": 0}
    try:
        for attempt in range(300):
            copy = tmp_path / f"copy-{attempt}"
            try:
                copy_submission(folder, copy)
            except SubmissionRefused as exc:
                assert re.search(r"toy\.ipynb (is a symbolic link|is a hard link|changed while)", str(exc)), exc
                assert not copy.exists()
                outcomes["refused"] += 1
            else:
                notebook = copy / "toy.ipynb"
                assert not notebook.is_symlink() and notebook.read_text() == '{"cells": []}'
                outcomes["copied"] += 1
    finally:
        stop.set()
        flipper.join()
    assert sum(outcomes.values()) == 300, outcomes
    assert SECRET not in "".join(p.read_text() for p in tmp_path.glob("copy-*/**/*") if p.is_file())


def test_copy_keeps_nbgraders_ignore_include_and_size_limits(tree, tmp_path):
    (tree["folder"] / ".ipynb_checkpoints").mkdir()
    (tree["folder"] / ".ipynb_checkpoints" / "toy-checkpoint.ipynb").write_text("{}")
    (tree["folder"] / "big.bin").write_bytes(b"x" * 5000)
    copy = tmp_path / "copy"
    copy_submission(tree["folder"], copy, exclude=[".ipynb_checkpoints"], include=["*.ipynb", "*.csv"],
                    max_file_bytes=4000)
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == ["data", "data/points.csv", "toy.ipynb"]
    with pytest.raises(SubmissionRefused, match=r"over 4 kB .*max_dir_size"):
        copy_submission(tree["folder"], tmp_path / "copy2", max_total_bytes=4000)
    assert not (tmp_path / "copy2").exists()


# ----------------------------------------------------------------- the real routes


def nbgrader(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """A real nbgrader command; each person's HOME (and so nbgrader's submission cache) is their folder."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(cwd), "JUPYTER_DATA_DIR": str(cwd / ".jupyter-data")}
    completed = subprocess.run([NBGRADER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def _config_file_for(course: NbgraderCourse, home: Path) -> None:
    """A student's nbgrader config: the course's exchange and id (what a hub's global config would say)."""
    config = (course.root / "nbgrader_config.py").read_text()
    exchange = re.search(r"c\.Exchange\.root = (.*)", config).group(1)  # type: ignore[union-attr]
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = 'dl-course'\nc.Exchange.root = {exchange}\n")


def _everything_under(*folders: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for folder in folders if folder.exists()
                     for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's tables one line per row (long paths in reasons unwrapped)."""
    monkeypatch.setattr("autograder.cli.output.console", Console(width=1000))


def _summary_rows(text: str) -> dict[str, str]:
    """Student -> the text of their row in a rich table (the cells after the first, joined)."""
    rows: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]]
        if not cells:
            continue
        if cells[0]:
            current = cells[0]
        if current is not None:
            rows[current] = (rows.get(current, "") + " " + " ".join(cells[1:])).strip()
    return {student: " ".join(row.split()) for student, row in rows.items()}


@pytest.mark.slow
def test_collect_refuses_links_planted_in_the_exchange(toy_course, tmp_path, capsys, wide_console):
    course = toy_course
    nbgrader("release_assignment", "toy", cwd=course.root)
    for student, solutions in {"ann": CORRECT_TOY, "ben": {"square": CORRECT_TOY["square"]}}.items():
        home = tmp_path / student
        home.mkdir()
        _config_file_for(course, home)
        nbgrader("fetch_assignment", "toy", cwd=home)
        path = home / "toy" / "toy.ipynb"
        nbformat.write(fill_solutions(path, solutions), path)
        nbgrader("submit", "toy", f"--student={student}", cwd=home)

    inbound = course.root / "exchange" / "dl-course" / "inbound"
    (ann_folder,) = inbound.glob("ann+toy+*")
    stamp = ann_folder.name.split("+")[2]
    source = course.source_dir() / "toy"

    def planted(student: str) -> Path:
        folder = inbound / f"{student}+toy+{stamp}+planted"
        folder.mkdir()
        (folder / "timestamp.txt").write_text(stamp)
        return folder

    (planted("mallory") / "toy.ipynb").symlink_to(source / "toy.ipynb")
    (planted("cleo") / "toy.ipynb").symlink_to(ann_folder / "toy.ipynb")  # a classmate's submission
    os.link(source / "toy.ipynb", planted("hal") / "toy.ipynb")
    nested = planted("nina")
    nbformat.write(fill_solutions(course.root / "release" / "toy" / "toy.ipynb", {}), nested / "toy.ipynb")
    (nested / "extra" / "deeper").mkdir(parents=True)
    (nested / "extra" / "deeper" / "secret").symlink_to(course.root / "grading_results")
    (inbound / f"eve+toy+{stamp}+planted").symlink_to(source)  # the whole folder
    fifo = planted("pip")
    os.mkfifo(fifo / "toy.ipynb")

    assert main(["collect", str(course.root), "toy"]) == 1
    out = capsys.readouterr().out
    rows = _summary_rows(out)
    assert rows["ann"].startswith("collected") and rows["ben"].startswith("collected"), out
    expected = {"mallory": r"toy\.ipynb is a symbolic link \(to .*source/toy/toy\.ipynb\): submit your notebook",
                "cleo": r"toy\.ipynb is a symbolic link \(to .*inbound/ann\+toy",
                "hal": r"toy\.ipynb is a hard link", "nina": r"extra/deeper/secret is a symbolic link",
                "eve": r"the submission folder eve\+toy\+.*\+planted is a symbolic link",
                "pip": r"toy\.ipynb is a named pipe"}
    for student, reason in expected.items():
        assert re.match(rf"refused {reason}", rows[student]), (student, rows[student])
    assert "2 of 8 submissions collected or up to date, 6 refused" in " ".join(out.split())
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["ann", "ben"]

    # nbgrader's own command goes through the same collect (configure() plugs it in): same refusals, logged.
    done = nbgrader("collect", "--update", "toy", cwd=course.root)
    for student, reason in expected.items():
        assert re.search(rf"refused {student}: {reason}", done.stderr), (student, done.stderr)
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["ann", "ben"]
    assert SOLUTION_MARK not in _everything_under(course.root / "submitted")
    assert (course.root / "submitted" / "ann" / "toy" / "toy.ipynb").read_text() == \
        (ann_folder / "toy.ipynb").read_text()


@pytest.mark.slow
def test_grade_refuses_links_in_submitted_and_grades_the_others(toy_course, toy_release, capsys, wide_console):
    course = toy_course
    submitted = course.root / "submitted"
    submit(course, "ann", "toy", fill_solutions(toy_release, CORRECT_TOY))
    submit(course, "ben", "toy", fill_solutions(toy_release, {"square": CORRECT_TOY["square"]}))
    secret = GradingRecords(course.root / "grading_results").secret()
    source_notebook = course.source_dir() / "toy" / "toy.ipynb"
    reference = course.course_root() / "reference" / "toy.py"

    def honest_beside(student: str) -> Path:
        return submit(course, student, "toy", fill_solutions(toy_release, {})).parent

    submit(course, "mallory", "toy", fill_solutions(toy_release, {}))
    _replace(submitted / "mallory" / "toy" / "toy.ipynb").symlink_to(submitted / "ann" / "toy" / "toy.ipynb")
    (submitted / "eve").mkdir()
    (submitted / "eve" / "toy").symlink_to(course.source_dir() / "toy")
    (honest_beside("rex") / "toy.py").symlink_to(reference)
    (honest_beside("sam") / "seed.txt").symlink_to(course.root / "grading_results" / ".secret")
    os.link(source_notebook, _replace(honest_beside("hal") / "toy.ipynb"))
    _replace(honest_beside("nina") / "a" / "b" / "c" / "notes.txt").symlink_to(source_notebook)
    students = ["ann", "ben", "eve", "hal", "mallory", "nina", "rex", "sam"]
    assert course.submitted_students("toy") == students

    assert main(["grade", str(course.root), "toy"]) == 1
    out = capsys.readouterr().out
    rows = _summary_rows(out)
    expected = {"mallory": r"toy\.ipynb is a symbolic link \(to .*submitted/ann/toy/toy\.ipynb\)",
                "eve": r"the submission folder eve/toy is a symbolic link", "rex": r"toy\.py is a symbolic link",
                "sam": r"seed\.txt is a symbolic link", "hal": r"toy\.ipynb is a hard link",
                "nina": r"a/b/c/notes\.txt is a symbolic link"}
    for student, reason in expected.items():
        assert re.search(rf"refused: {reason}", rows[student]), (student, rows[student])
    scores = course.scores("toy")
    assert scores["ann"] == {"test_double": 3.0, "test_square": 1.0}
    assert scores["ben"] == {"test_double": 0.0, "test_square": 1.0}
    assert not set(scores) & set(expected)
    for student in ("ann", "ben"):
        course.feedback("toy", student)
    for student in expected:
        assert not (course.root / "autograded" / student).exists(), student
        assert not (course.root / "feedback" / student).exists(), student
        with pytest.raises(NbgraderError):
            course.feedback("toy", student)
    written = _everything_under(course.root / "autograded", course.root / "feedback")
    assert SOLUTION_MARK not in written and "return x * 2" not in written
    assert secret.decode() not in written and reference.read_text() not in written


@pytest.mark.slow
def test_nbgrader_autograde_run_directly_refuses_links_too(toy_course, toy_release):
    """Without our check first (``nbgrader autograde``, or a link planted after it): nbgrader's reader refuses."""
    course = toy_course
    submit(course, "ann", "toy", fill_solutions(toy_release, CORRECT_TOY))
    folder = submit(course, "mallory", "toy", fill_solutions(toy_release, {})).parent
    check_submission(folder, within=course.root / "submitted")  # passes: ordinary files
    _replace(folder / "toy.ipynb").symlink_to(course.source_dir() / "toy" / "toy.ipynb")  # planted after the check
    with pytest.raises(NbgraderError, match=r"toy\.ipynb is a symbolic link") as raised:
        course.autograde("toy", "mallory")
    assert raised.value.summary().startswith("refused: toy.ipynb is a symbolic link (to ")
    _replace(folder / "toy.ipynb")
    os.link(course.source_dir() / "toy" / "toy.ipynb", folder / "toy.ipynb")

    done = nbgrader("autograde", "toy", cwd=course.root, check=False)
    assert done.returncode != 0
    assert re.search(r"SubmissionRefused: toy\.ipynb is a hard link", done.stdout + done.stderr)
    assert course.scores("toy")["ann"] == {"test_double": 3.0, "test_square": 1.0}
    assert not (course.root / "autograded" / "mallory" / "toy").exists()
    assert SOLUTION_MARK not in _everything_under(course.root / "autograded")
