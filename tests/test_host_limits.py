"""Limits of the host (`sandbox.host`): a grader started under lower limits than an assignment's.

Each case runs the grader in a subprocess whose limits are lowered first (as
``ulimit -v`` in the shell that started it would): its kernels get the
assignment's limits clamped to the host's, and the protections say so; a
host limit below what any kernel needs is refused, naming it and what to do.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox import host
from autograder.sandbox.confine import Limits, Sandbox
from autograder.selftest.cases import TOY_ROOT

MiB = 2**20
AUTOGRADER = str(Path(sys.executable).with_name("autograder"))

GRADE = """
import json, sys
from pathlib import Path
import nbformat
from autograder.course.assignment import Assignment
from autograder.grading.job import GradingRecords, grade
from autograder.selftest.cases import TOY_ROOT

toy = Assignment("toy", TOY_ROOT)
result = grade(nbformat.read(toy.source_notebook, as_version=4), toy, student="ana", notebook_name="toy",
               records=GradingRecords(Path(sys.argv[1])))
print(json.dumps({"score": result.score, "max": result.max_score, "protections": result.protections}))
"""

FACTS = """
import json
from pathlib import Path
from autograder.sandbox import host
from autograder.sandbox.confine import Limits, Sandbox

sandbox = Sandbox(Limits(), Path("/tmp"))
print(json.dumps({"rlimits": sandbox.rlimits(), "rows": [f"{p.name}: {p.detail}" for p in sandbox.clamped()],
                  "cores": host.usable_cores(), "slots": host.job_slots(Limits(threads=1))}))
"""


def lowered(limits: dict[int, int], cpus: set[int] | None = None):
    """A preexec_fn that lowers the child's rlimits (soft and hard: it cannot raise them again) and CPUs."""
    def apply() -> None:
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    return apply


def run(argv: list[str], limits: dict[int, int], *, warm: str | None = None, cpus: set[int] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if warm is not None:
        env["AUTOGRADER_WARM"] = warm
    return subprocess.run(argv, preexec_fn=lowered(limits, cpus), env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(host.can_raise_limits(), reason="with CAP_SYS_RESOURCE no inherited limit binds the grader")
def test_what_the_sandbox_grants_is_clamped_to_the_hosts_limits():
    done = run([sys.executable, "-c", FACTS], {resource.RLIMIT_AS: 16384 * MiB, resource.RLIMIT_NOFILE: 200})
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts["rlimits"]["as"] == 16384 * MiB and facts["rlimits"]["nofile"] == 200
    assert facts["rlimits"]["fsize"] == Limits().disk_mb * MiB  # the host's is unlimited: the assignment's
    assert facts["rows"] == [
        f"address space: clamped to the host's 16384 MiB (ulimit -v); the assignment asks for "
        f"{Limits().address_space_mb} MiB",
        f"open files: clamped to the host's 200 (ulimit -n); the assignment asks for {Limits().open_files}"]


def test_without_host_limits_the_assignments_are_granted_as_they_are():
    sandbox = Sandbox(Limits(), Path("/tmp"))
    wanted = sandbox.wanted_rlimits()
    if any((top := host.ceiling(name)) is not None and top < value for name, value in wanted.items()):
        pytest.skip("this host's own limits are below the default limits")
    assert sandbox.rlimits() == wanted and sandbox.clamped() == []
    assert wanted["as"] == Limits().address_space_mb * MiB and wanted["core"] == 0


def test_the_cores_the_grader_may_use_bound_the_jobs_at_once():
    done = run([sys.executable, "-c", FACTS], {}, cpus={min(os.sched_getaffinity(0))})
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts["cores"] == 1 and facts["slots"] == 1


@pytest.mark.slow
@pytest.mark.skipif(host.can_raise_limits(), reason="with CAP_SYS_RESOURCE no inherited limit binds the grader")
@pytest.mark.parametrize("warm", [None, "0"], ids=["default start", "cold start"])
def test_a_grading_under_a_lower_address_space_than_the_assignments_is_clamped(tmp_path, warm):
    """The toy assignment asks for the default 32768 MiB; under `ulimit -v 16777216` its kernels get 16384."""
    done = run([sys.executable, "-c", GRADE, str(tmp_path)], {resource.RLIMIT_AS: 16384 * MiB}, warm=warm)
    assert done.returncode == 0, done.stderr[-3000:]
    graded = json.loads(done.stdout.splitlines()[-1])
    assert graded["score"] == graded["max"] > 0
    assert "address space: clamped to the host's 16384 MiB (ulimit -v); the assignment asks for 32768 MiB" in (
        graded["protections"])


@pytest.mark.slow
@pytest.mark.skipif(host.can_raise_limits(), reason="with CAP_SYS_RESOURCE no inherited limit binds the grader")
def test_a_host_address_space_too_small_for_any_kernel_is_refused_saying_what_to_do(tmp_path):
    notebook = tmp_path / "toy.ipynb"
    shutil.copy(TOY_ROOT / "assignments" / "source" / "toy" / "toy.ipynb", notebook)
    # --cold: the check in this process, under its limit (a warm validate server started elsewhere has its own).
    done = run([AUTOGRADER, "validate", "--cold", "--course-root", str(TOY_ROOT), str(notebook)],
               {resource.RLIMIT_AS: 3800 * MiB})
    said = " ".join((done.stdout + done.stderr).split())
    print(said)
    assert done.returncode != 0
    assert "this host limits the grader's address space to 3800 MiB (ulimit -v 3891200" in said
    assert "Start the grader where `ulimit -v` is unlimited or at least 33554432" in said
    assert "Traceback" not in said and "kernel_info" not in said
