"""Folder names and owners in the exchange's inbound are the students' to choose: none counts as someone else's.

Every student can write to ``inbound/``, and nbgrader collects a student's latest folder by the timestamp in
its name. A folder nbgrader cannot parse used to stop the whole collect; one stamped in the future, or
planted under a classmate's name, was collected as that classmate's submission. Here folders are planted
next to genuine submissions and ``autograder collect`` runs over them (then nbgrader's own command).
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.course.samples import fill_solutions

from .conftest import CORRECT_TOY
from .test_links import _summary_rows, nbgrader, wide_console  # noqa: F401  (a fixture)

NOBODY = 65534  # a system account every Debian host has, as the "student" who owns their own folder


def _stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def _plant(inbound: Path, name: str, notebook: nbformat.NotebookNode, stamp: str, owner: int | None = None) -> Path:
    folder = inbound / name
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "toy.ipynb")
    (folder / "timestamp.txt").write_text(stamp)
    if owner is not None:
        for path in (folder, folder / "toy.ipynb", folder / "timestamp.txt"):
            os.chown(path, owner, owner)
    return folder


@pytest.mark.slow
def test_malformed_future_and_foreign_folders_never_count_as_a_students_submission(toy_course, capsys,
                                                                                  wide_console):  # noqa: F811
    course = toy_course
    nbgrader("release_assignment", "toy", cwd=course.root)
    release = course.root / "release" / "toy" / "toy.ipynb"
    inbound = course.root / "exchange" / "dl-course" / "inbound"
    now = datetime.datetime.now(datetime.UTC)
    genuine = fill_solutions(release, {"square": CORRECT_TOY["square"]})
    forged = fill_solutions(release, CORRECT_TOY)  # a better notebook, planted to be taken instead
    _plant(inbound, f"ann+toy+{_stamp(now - datetime.timedelta(minutes=5))}+a1", genuine,
           _stamp(now - datetime.timedelta(minutes=5)))
    _plant(inbound, "ann+toy+2099-01-01 00:00:00.000000 UTC+later", forged, "2099-01-01 00:00:00.000000 UTC")
    _plant(inbound, "bob+toy+not a time+x", forged, "not a time")  # used to stop the whole collect
    _plant(inbound, f"cy+toy+{_stamp(now + datetime.timedelta(days=3))}+x", forged, "in three days")

    assert main(["collect", str(course.root), "toy"]) == 1
    out = capsys.readouterr().out
    rows = _summary_rows(out)
    assert rows["ann"].startswith("collected"), out
    assert (course.root / "submitted" / "ann" / "toy" / "toy.ipynb").read_text() == \
        (inbound / f"ann+toy+{_stamp(now - datetime.timedelta(minutes=5))}+a1" / "toy.ipynb").read_text()
    assert re.match(r"refused the folder bob\+toy\+not a time\+x in the exchange is not named "
                    r"<student>\+<assignment>\+<timestamp>", rows["bob"]), rows["bob"]
    assert re.match(r"refused the folder cy\+toy\+.* is stamped .* UTC, in the future", rows["cy"]), rows["cy"]
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["ann"]

    # In the classroom each student submits as their own account: a folder written by another is not theirs.
    # (owner_prefix "" here: the account of student "nobody" is the system user nobody.)
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.LinkRefusingCollect.owner_prefix = ""\n')
    later = now + datetime.timedelta(seconds=1)
    _plant(inbound, f"nobody+toy+{_stamp(later)}+own", genuine, _stamp(later), owner=NOBODY)
    _plant(inbound, f"daemon+toy+{_stamp(later)}+planted", forged, _stamp(later), owner=NOBODY)
    done = nbgrader("collect", "--update", "toy", cwd=course.root)
    assert re.search(r"refused daemon: the folder daemon\+toy\+.*\+planted was written by nobody, not by daemon: "
                     r"only the student's own account can submit for them", done.stderr), done.stderr
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["ann", "nobody"]
