"""No state of one student is visible to the next, nor to a student graded at the same time (issue 10 §2).

The submissions are the self-test's ``leftovers`` cases (``tests/hostile/leftovers/``): a planter that leaves
state everywhere a student could (files, SysV IPC, unix sockets, a daemon, environment, monkeypatched
modules, seeded generators, the hostname, the runtime directory) and reads it back, and a finder that looks
for all of it and for anything else that is not its own. They are graded one after another in this process,
as a grader grades a class, so a kernel start that reuses anything between submissions (a warm zygote, a
pool) is held to the same line as a cold one. Each test first checks the planter really planted, so none
passes for nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from autograder.course.assignment import Assignment
from autograder.course.samples import fill_solutions, parse_sections
from autograder.grading.job import GradingRecords, grade
from autograder.sandbox.cgroups import cgroup_roots
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel
from autograder.selftest.cases import HOSTILE_DIR

LEFTOVERS = HOSTILE_DIR / "leftovers"
PLANTER = parse_sections((LEFTOVERS / "a_plant_everywhere.py").read_text())
FINDER = parse_sections((LEFTOVERS / "b_find_leftovers.py").read_text())
MARKER = "agleftover7c1e"  # the planter's, in its file
OTHER_MARKER = "agleftover9d2f"  # a second planter's, alive beside the first
LIMITS = Limits(cell_timeout_s=40, call_timeout_s=20, notebook_timeout_s=120, processes=64, disk_mb=64,
                memory_mb=2048, threads=1)

pytestmark = pytest.mark.slow


def planter_cells(marker: str = MARKER) -> list[str]:
    return ["import torch", PLANTER["double"].replace(MARKER, marker), PLANTER["square"]]


def finder_cells() -> list[str]:
    return ["import torch", FINDER["double"], FINDER["square"]]


@contextlib.contextmanager
def kernel(cells: list[str], limits: Limits = LIMITS) -> Iterator[StudentKernel]:
    """A kernel that ran ``cells`` (each cell checked) and takes calls; closed on the way out."""
    with StudentKernel(cells, limits) as student:
        runs = student.run_notebook()
        assert [run.status for run in runs] == ["ok"] * len(cells), [(run.status, run.error[-800:]) for run in runs]
        yield student


def call(student: StudentKernel, name: str, *args: object, **kwargs: object) -> object:
    return student.call(name, args, kwargs)["output"]


def assert_planted(student: StudentKernel) -> dict:
    """The planter's report, after checking its own reads saw what it planted (else the finder proves nothing)."""
    assert call(student, "_proof") == "", "the planter could not plant what every sandbox lets it plant"
    report = call(student, "planted")
    assert report["files written in"] and report["processes seen"] == 2, report  # the background one and the daemon
    return report


def host_processes_with(marker: str) -> list[str]:
    """Host processes whose command line names ``marker``: a planter's daemon that outlived its kernel."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if marker in cmdline:
            found.append(f"{process.info['pid']}: {cmdline[:200]}")
    return found


def host_sysv_keys() -> set[str]:
    return {line.split()[0] for kind in ("shm", "msg", "sem")
            for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]}


def planted_key(marker: str) -> str:
    import zlib

    return str(zlib.crc32(marker.encode()) & 0x7FFFFFFF)


# ----------------------------------------------------------------- the finder finds


def test_finder_sees_everything_of_a_planter_that_shared_its_kernel():
    """What sharing would look like: run in the planter's own kernel, the finder finds every kind of state."""
    with kernel([*planter_cells(), *finder_cells()[1:]]) as shared:
        planted = assert_planted(shared)
        found = call(shared, "found")
        assert call(shared, "find_leftovers", MARKER, planted["runtime dir"], generic=False).keys() == {
            "files", "runtime dirs", "sysv", "unix sockets", "processes", "environment"}
    assert set(found) == {"files", "ipython startup", "matplotlibrc", "sysv", "unix sockets", "processes",
                          "environment", "patched", "random state"}, found
    patched = {"torch.ones", "numpy.zeros", "print", "builtins", "sys.modules", "sys.path", "rcParams",
               "recursion limit", "torch threads", "default dtype", "numpy print", "open files", "warnings",
               "torch seed"}
    assert set(found["patched"]) == patched, found["patched"]


# ----------------------------------------------------------------- one after another


def test_next_student_sees_nothing_the_previous_one_left():
    with kernel(planter_cells()) as planter:
        planted = assert_planted(planter)
    assert host_processes_with(MARKER) == [], "the planter's processes outlived its kernel"
    assert planted_key(MARKER) not in host_sysv_keys(), "the planter's SysV objects are in the host's namespace"
    with kernel(finder_cells()) as finder:
        assert call(finder, "found") == {}, "what the finder saw when its notebook ran"
        assert call(finder, "find_leftovers", MARKER, planted["runtime dir"]) == {}
        draws = call(finder, "draws")
    # A generator state inherited from a process that started both kernels would repeat the planter's draws.
    # (torch's stays at its default seed by design, so its draws may repeat.)
    for generator in ("random", "numpy"):
        assert draws[generator] != planted["draws"][generator], f"{generator} gave the planter's draws again"


def test_grading_one_after_another_leaves_nothing(toy_release: Path, toy_assignment: Assignment, tmp_path: Path):
    """The same two submissions through `grade`, the way a class is graded: the finder earns nothing."""
    records = GradingRecords(tmp_path / "grading_results")
    planter = grade(fill_solutions(toy_release, PLANTER), toy_assignment, student="planter", notebook_name="toy",
                    records=records)
    assert planter.graded, planter.error
    assert planter.cell_scores() == {"test_double": 3.0, "test_square": 1.0}, \
        [t.message for t in planter.tests if not t.passed]  # full marks only when every planting read back
    finder = grade(fill_solutions(toy_release, FINDER), toy_assignment, student="finder", notebook_name="toy",
                   records=records)
    assert finder.graded, finder.error
    assert finder.cell_scores() == {"test_double": 0.0, "test_square": 1.0}, "the finder found the planter's state"
    assert all("no leftovers of an earlier student" in test.message for test in finder.tests_for("test_double"))


# ----------------------------------------------------------------- at the same time


def test_kernels_alive_at_once_cannot_see_each_other():
    with kernel([*planter_cells(), *finder_cells()[1:]]) as first:
        first_planted = assert_planted(first)
        # The second looks before planting its own: anything not its own it sees is the first's.
        with kernel([*finder_cells(), *planter_cells(OTHER_MARKER)[1:]]) as second:
            assert call(second, "found") == {}, "what the second kernel saw of the first, alive beside it"
            second_planted = assert_planted(second)
            assert call(second, "find_leftovers", MARKER, first_planted["runtime dir"], generic=False) == {}
            first_found = call(first, "find_leftovers", OTHER_MARKER, second_planted["runtime dir"], generic=False)
            assert first_found == {}, "what the first kernel saw of the second"
    assert host_processes_with(MARKER) + host_processes_with(OTHER_MARKER) == []


@pytest.mark.skipif(not cgroup_roots(), reason="no cgroups of the kernels' own on this host: nothing to see")
def test_gpu_kernels_alive_at_once_cannot_see_each_others_cgroups():
    """``gpu = true`` gives kernels /sys (CUDA reads it), with no GPU on the host too: a second kernel looks at it."""
    gpu = replace(LIMITS, gpu=True)
    with kernel(["x = 1"], gpu) as first, kernel(finder_cells(), gpu) as second:
        first_runtime = str(first.connection_file.parent)
        assert call(second, "find_leftovers", OTHER_MARKER, first_runtime, generic=False) == {}
