"""Hostile submissions are contained: every attack category, real submissions, real nbgrader.

`autograder.selftest` grades each case of ``tests/hostile/`` beside honest
students and checks the hostile student's scores and reasons, the honest
students' unchanged grades and the host (see its docstring). That run takes
a few minutes and is shared by the per-category tests below. The quicker
tests first pin the kernel-side mechanisms the cases rely on.
"""

from __future__ import annotations

import io
import os
import re
import stat

import pytest
import torch
from rich.console import Console

from autograder.course.assignment import Assignment, autograded_cells, read_notebook
from autograder.sandbox import wire
from autograder.sandbox.cgroups import cgroup_roots
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel
from autograder.sandbox.messages import StudentCodeError
from autograder.selftest.cases import (
    CATEGORIES,
    NOTEBOOK_EDITS,
    PLACEHOLDERS,
    REPO,
    SELFTEST_LIMITS,
    Plant,
    load_cases,
)
from autograder.selftest.runner import run_security_selftest
from autograder.selftest.verdicts import report_table

# The self-test counts every sandboxed process on the host after each case: no other test may run beside it.
pytestmark = pytest.mark.exclusive

CONV_AT_IMPORT = (
    "import torch\n"
    "from torch.nn.functional import conv1d as _smooth\n"
    "def conv_double(x):\n"
    "    return _smooth(x.reshape(1, 1, -1), torch.full((1, 1, 1), 2.0, dtype=x.dtype)).reshape(x.shape)\n"
    "def plain_double(x):\n"
    "    return x + x\n"
)


# ----------------------------------------------------------------- the cases themselves


def test_every_category_has_real_hostile_submissions():
    cases = load_cases()
    by_category = {category: [c for c in cases if c.category == category] for category in CATEGORIES}
    assert all(by_category.values()), [category for category, found in by_category.items() if not found]
    for case in cases:
        if case.assignment:  # a course assignment's own cells (the lookup models)
            assignment = Assignment(case.assignment, REPO)
            notebook = read_notebook(assignment.source_notebook)
            solution_cells = {cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
                              if cell.metadata.get("nbgrader", {}).get("solution")}
            assert case.sections and set(case.sections) <= solution_cells, case.id
            assert set(case.expect) == set(autograded_cells(notebook)), case.id
        else:
            assert set(case.sections) <= {"double", "square"} and case.sections, case.id
            assert case.refused or set(case.expect) == {"test_double", "test_square"}, case.id
        assert not case.edit or case.edit in NOTEBOOK_EDITS, case.id
        re.compile(case.reason)
        targets = " ".join(plant.target for plant in case.plants)
        used = set(re.findall(r"@@(\w+)@@", "".join(case.sections.values()) + " ".join(case.markers) + targets))
        assert used <= set(PLACEHOLDERS), (case.id, used - set(PLACEHOLDERS))
        # A planted link or special file is refused before anything reads it, with a reason.
        assert not case.plants or (case.refused and case.reason), case.id
    links = [c for c in cases if c.category == "links"]
    assert all(c.plants for c in links)
    assert {p.kind for c in links for p in c.plants} == set(Plant.KINDS)
    assert not [c.id for c in cases if c.limit]  # no known limits: a new one needs a decision, not a line here
    # Every assignment with a threshold on a hidden split of real data has its lookup model.
    assert {c.assignment for c in cases if c.category == "lookup"} == {
        "a02_tabular_regression", "a03_binary_classification", "a05_multiclass_mnist", "a06_cnn",
        "a07_transfer_learning"}
    assert all(c.assignment for c in cases if c.category == "lookup")


# ----------------------------------------------------------------- kernel-side mechanisms


@pytest.mark.slow
def test_banned_operator_is_refused_however_it_is_reached():
    x = torch.randn(4, 3)
    with StudentKernel([CONV_AT_IMPORT], SELFTEST_LIMITS) as kernel:
        kernel.run_notebook()
        assert torch.allclose(kernel.call("conv_double", (x,))["output"], 2 * x)  # no rule, no refusal
        for wrt in ((), (0,)):
            with pytest.raises(StudentCodeError, match=r"conv_double used a banned operator aten::convolution"):
                kernel.call("conv_double", (x,), wrt=wrt, banned_ops=("aten::convolution",))
        result = kernel.call("plain_double", (x,), wrt=(0,), banned_ops=("aten::convolution",))
        assert torch.equal(result["output"], x + x) and "aten::add" in result["ops"]


@pytest.mark.slow
def test_kernel_cannot_write_its_runtime_dir_and_exit_skips_only_its_cell():
    cells = [
        "def early(x):\n    return x\nexit()",
        "import os\nruntime = os.environ['JUPYTER_RUNTIME_DIR']\n"
        "try:\n    open(runtime + '/fill', 'wb').write(b'x' * 2**20)\n    wrote = True\n"
        "except OSError as exc:\n    wrote = type(exc).__name__\n"
        "def report():\n    return wrote",
        "raise ValueError('v' * 3_000_000)",
    ]
    with StudentKernel(cells, SELFTEST_LIMITS) as kernel:
        runs = kernel.run_notebook()
        runtime = kernel.connection_file.parent
        assert [r.status for r in runs] == ["died", "ok", "error"]
        assert "asked the kernel to exit" in runs[0].error
        assert kernel.call("report")["output"] == "PermissionError"
        info = os.stat(runtime)
        assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700
        assert sorted(p.name for p in runtime.iterdir() if not p.is_socket()) == ["kernel.json"]
        assert len(runs[2].error) <= 12_000 and sum(len(str(o)) for o in runs[2].outputs) <= 30_000
        with pytest.raises(StudentCodeError, match="cells that were stopped and skipped: cell 1"):
            kernel.call("early", (1,))


@pytest.mark.slow
@pytest.mark.skipif("pids" not in cgroup_roots(), reason="no writable pids cgroup on this host")
def test_one_kernels_fork_bomb_leaves_other_kernels_their_processes():
    bomb = ("import os, time\nforked = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
            "            time.sleep(60)\n            os._exit(0)\n        forked += 1\nexcept OSError:\n    pass")
    threads = ("import threading, time\ndef start(n):\n    workers = [threading.Thread(target=time.sleep, args=(0.5,))"
               " for _ in range(n)]\n    [w.start() for w in workers]\n    return n")
    limits = Limits(cell_timeout_s=20, call_timeout_s=10, processes=48)
    # The bomber imports torch first, as every notebook does: a kernel left with no process to spare cannot
    # import it afterwards, and this test is about the bystander.
    bomber_cells = ["import torch", bomb, "def alive():\n    return forked"]
    with StudentKernel([threads], limits) as bystander, StudentKernel(bomber_cells, limits) as bomber:
        bystander.run_notebook()
        bomber.run_notebook()
        assert 30 < bomber.call("alive")["output"] < 48
        assert bystander.call("start", (30,))["output"] == 30


@pytest.mark.parametrize("payload", [
    b"\xff\xfe not utf-8",
    '{"__dict__":[["output",' + "1" * 5000 + "]]}",
    '{"__tensor__":{"dtype":"float32","shape":[1],"data":"%%%%"}}',
    '{"__tensor__":{"dtype":"float32","shape":[1],"data":"ÄÄÄÄ"}}',
    '{"__dict__":[[{"__tuple__":[[1]]},1]]}',
    "[" + "{}," * 3_000_000 + "{}]",
    '{"__tensor__":{"dtype":"float32","shape":[4611686018427387904,4],"data":""}}',
])
def test_malformed_payloads_raise_only_wire_errors(payload):
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def test_payload_must_be_text():
    with pytest.raises(wire.WireError, match="must be text"):
        wire.decode({"__dict__": []})  # type: ignore[arg-type]


# ----------------------------------------------------------------- the whole self-test


@pytest.fixture(scope="module")
def security_reports() -> dict:
    return {report.category: report for report in run_security_selftest()}


@pytest.mark.slow
@pytest.mark.parametrize("category", list(CATEGORIES))
def test_attack_category_is_contained(security_reports, category):
    report = security_reports[category]
    assert report.tried >= 1
    unexpected = {r.case.name: r.why for r in report.results if not r.contained and not r.case.limit}
    assert not unexpected, f"{category}: not contained:\n" + "\n".join(f"- {k}: {v}" for k, v in unexpected.items())
    for result in report.results:
        if result.case.limit:  # a known limit must keep being reported, not silently pass
            assert not result.contained, f"{result.case.id} is contained now: drop its 'limit:' line"


@pytest.mark.slow
def test_report_shows_every_category_and_why(security_reports):
    reports = list(security_reports.values())
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(report_table(reports))
    text = console.export_text()
    for category in CATEGORIES:
        assert re.search(rf"^. {category}\s", text, re.MULTILINE)
    assert ": known limit" not in text  # no case is a known limit (the column's header says "known limits")
    assert report_table(reports).row_count == len(CATEGORIES)
