"""Shared fixtures for the project's own tests: real kernels, real nbgrader, small courses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.course.assignment import Assignment
from autograder.course.samples import write_submission
from autograder.gradebook.course_dir import NbgraderCourse
from autograder.selftest.cases import TOY_ROOT  # the toy course ships with the self-test

REPO = Path(__file__).resolve().parents[1]

# `make test` runs the suite on two pytest-xdist workers (``-n 2 --dist loadfile``). Each module stays on one
# worker (its fixtures grade a class once); modules sharing a session fixture, or starting a classroom hub (they
# add the same system accounts), share one (`pytest_xdist_make_scheduler`). Groups start slowest first, so that
# neither worker is left with a long one at the end; the figures are seconds of a one-worker run (session 18).
SHARED_GROUPS = {"test_a01.py": "a01-class", "test_mistakes.py": "a01-class", "test_report.py": "a01-class",
                 "test_hub_isolation.py": "hub", "test_classroom_browser.py": "hub", "test_grading_service.py": "hub"}
SECONDS = {"test_a04.py": 280, "hub": 260, "a01-class": 200, "test_a07.py": 135, "test_a05.py": 110,
           "test_a03.py": 110, "test_a06.py": 100, "test_walkthrough.py": 95, "test_a02.py": 95, "test_a08.py": 90,
           "test_cli.py": 90, "test_bench.py": 66, "test_faults.py": 60, "test_end_to_end.py": 46}


def worker_group(nodeid: str) -> str:
    """The group a test runs in: its module's file name, or the name of the group its module shares."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return SHARED_GROUPS.get(module, module)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest groups first (a stable sort: each module's tests keep their order)."""
    items.sort(key=lambda item: -SECONDS.get(worker_group(item.nodeid), 0))


@pytest.hookimpl(optionalhook=True)  # xdist's hook: plain `pytest` without the plugin still runs
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadfile``: xdist's per-file scheduling, with the shared groups above kept together."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleGroupScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return ModuleGroupScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def private_validate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tests' `autograder validate` (as root) use a warm validate server of their own, stopped at the end."""
    from autograder.cli import validate_server

    folder = tmp_path_factory.mktemp("validate-server")
    folder.chmod(0o700)
    before = os.environ.get(validate_server.FOLDER_ENV)
    os.environ[validate_server.FOLDER_ENV] = str(folder)
    yield folder
    validate_server.stop_server()
    if before is None:
        os.environ.pop(validate_server.FOLDER_ENV, None)
    else:
        os.environ[validate_server.FOLDER_ENV] = before


@pytest.fixture(scope="session", autouse=True)
def private_verdict_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Suite verdicts shared by the tests' course directories, starting empty: a run verifies as a fresh machine."""
    from autograder.grading.reference_check import VERDICT_CACHE_ENV

    folder = tmp_path_factory.mktemp("verdicts")
    folder.chmod(0o700)
    before = os.environ.get(VERDICT_CACHE_ENV)
    os.environ[VERDICT_CACHE_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(VERDICT_CACHE_ENV, None)
    else:
        os.environ[VERDICT_CACHE_ENV] = before


@pytest.fixture(scope="session")
def toy_assignment() -> Assignment:
    return Assignment("toy", TOY_ROOT)


@pytest.fixture(scope="session")
def a01_class_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a01's sample class graded once, as `autograder demo` grades it (nbgrader, the sandbox): the course
    directory, shared by the tests of its scores (test_a01) and of its diagnoses (test_mistakes)."""
    from .sample_class import grade_sample_class

    return grade_sample_class(tmp_path_factory, Assignment("a01_gradient_descent", REPO))


@pytest.fixture(scope="session")
def toy_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy assignment's release notebook, generated once by real nbgrader."""
    course = NbgraderCourse.create(tmp_path_factory.mktemp("toy-release"), TOY_ROOT)
    return course.generate("toy") / "toy.ipynb"


@pytest.fixture
def toy_course(tmp_path: Path) -> NbgraderCourse:
    course = NbgraderCourse.create(tmp_path / "course", TOY_ROOT)
    course.generate("toy")
    return course


def submit(course: NbgraderCourse, student: str, assignment: str, notebook: nbformat.NotebookNode) -> Path:
    return write_submission(course.root / "submitted", student, assignment, notebook)


def start_grading(course: NbgraderCourse, assignment: str = "toy", *arguments: str, output=subprocess.PIPE,
                  **popen) -> subprocess.Popen:
    """`autograder grade COURSE ASSIGNMENT [ARGUMENTS]` started in the background, its output in one stream."""
    command = [str(Path(sys.executable).with_name("autograder")), "grade", str(course.root), assignment, *arguments]
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True, **popen)


def two_grading_runs_at_once(course: NbgraderCourse, assignment: str, logs: Path) -> list[tuple[int, str]]:
    """`autograder grade` twice at once, overlapping for certain: both start while this test holds the course's
    grading lock (as a third run would), both say they wait for it, and they race for it once it is let go.

    Two runs merely started together may not overlap at all on a loaded machine (one finishes before the other
    has imported torch). Each run's (exit code, output).
    """
    from autograder.gradebook.batch import grading_lock

    outputs = [logs / f"run-{index}.log" for index in range(2)]
    with grading_lock(course):
        runs = [start_grading(course, assignment, output=output.open("w"), env={**os.environ, "PYTHONUNBUFFERED": "1"})
                for output in outputs]
        deadline = time.monotonic() + 300
        while not all("holds this course's lock" in output.read_text() for output in outputs):
            texts = [output.read_text()[-3000:] for output in outputs]
            assert time.monotonic() < deadline and all(run.poll() is None for run in runs), texts
            time.sleep(0.2)
    return [(run.wait(timeout=600), output.read_text()) for run, output in zip(runs, outputs, strict=True)]


CORRECT_TOY = {"double": "def double(x):\n    return x + x", "square": "def square(x):\n    return x ** 2"}
# A toy class of three (right; square only; double returning float32 for float64) and its gradebook scores.
TOY_CLASS = {
    "amy": CORRECT_TOY,
    "bo": {"square": CORRECT_TOY["square"]},
    "cy": {"double": "def double(x):\n    return (x + x).float()"},
}
TOY_CLASS_SCORES = {"amy": {"test_double": 3.0, "test_square": 1.0}, "bo": {"test_double": 0.0, "test_square": 1.0},
                    "cy": {"test_double": 2.0, "test_square": 0.0}}
