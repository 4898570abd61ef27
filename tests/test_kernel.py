"""The kernel proxy: limits are enforced, and a broken cell or call never stops grading."""

from __future__ import annotations

import time

import pytest
import torch

from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel
from autograder.sandbox.messages import KernelDied, StudentCodeError, StudentTimeout

pytestmark = pytest.mark.slow  # every test here starts real sandboxed kernels

FAST = Limits(cell_timeout_s=20, call_timeout_s=8, notebook_timeout_s=120, output_bytes=10_000,
              memory_mb=1536, processes=48, disk_mb=32)


def test_cells_that_hang_or_kill_the_kernel_are_skipped_and_the_rest_still_runs():
    cells = [
        "import torch\ndef before(x):\n    return x + 1",
        "while True:\n    pass",
        "def middle(x):\n    return x * 10",
        "import os\nos._exit(3)",
        "def after(x):\n    return x - 1",
    ]
    with StudentKernel(cells, Limits(cell_timeout_s=3, call_timeout_s=8)) as kernel:
        runs = kernel.run_notebook()
        assert [r.status for r in runs] == ["ok", "timeout", "ok", "died", "ok"]
        assert "status 3" in runs[3].error
        assert kernel.call("before", (1,))["output"] == 2
        assert kernel.call("middle", (1,))["output"] == 10
        assert kernel.call("after", (1,))["output"] == 0
        assert any("time limit" in e for e in kernel.events)


def test_calls_fail_alone_and_the_kernel_comes_back():
    cells = [
        "import torch, os\n"
        "def ok(x):\n    return x * 2\n"
        "def boom(x):\n    raise ValueError('bad input shape')\n"
        "def spin(x):\n    while True:\n        pass\n"
        "def leave(x):\n    os._exit(0)\n"
        "def weird(x):\n    return object()\n"
    ]
    with StudentKernel(cells, FAST) as kernel:
        kernel.run_notebook()
        with pytest.raises(StudentCodeError, match="bad input shape") as raised:
            kernel.call("boom", (torch.ones(3),))
        assert "__autograder" not in str(raised.value)  # hidden inputs never reach the student
        with pytest.raises(StudentTimeout, match="did not return within 8 s"):
            kernel.call("spin", (1,))
        started = time.monotonic()  # a function that used up its budget once is not given it again
        with pytest.raises(StudentTimeout, match="spin was not called again: earlier in this grading it did not "
                                                 "return within 8 s"):
            kernel.call("spin", (2,))
        assert time.monotonic() - started < 1
        assert torch.equal(kernel.call("ok", (torch.ones(2),))["output"], torch.full((2,), 2.0))
        with pytest.raises(KernelDied, match="kernel stopped"):
            kernel.call("leave", (1,))
        with pytest.raises(StudentCodeError, match="cannot send a value of type"):
            kernel.call("weird", (1,))
        with pytest.raises(StudentCodeError, match="missing is not defined in your notebook"):
            kernel.call("missing", (1,))
        assert kernel.call("ok", (3,))["output"] == 6


def test_resource_limits_inside_the_kernel():
    probe = (
        "import os, time\n"
        "children = []\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(60); os._exit(0)\n"
        "        children.append(pid)\n"
        "except OSError as exc:\n"
        "    fork_error = type(exc).__name__\n"
        "for pid in children:\n"
        "    os.kill(pid, 9); os.waitpid(pid, 0)\n"
        "children = len(children)\n"
        "try:\n"
        "    with open('big.bin', 'wb') as f:\n"
        "        for _ in range(64):\n"
        "            f.write(b'x' * 2**20)\n"
        "    disk = 'allowed'\n"
        "except OSError as exc:\n"
        "    disk = type(exc).__name__\n"
        "print(children, fork_error, disk)\n"
    )
    with StudentKernel([probe, "print('y' * 50_000)", "def f():\n    return 1"], FAST) as kernel:
        fork_run, flood, _ = kernel.run_notebook()
        assert kernel.call("f")["output"] == 1
    children, fork_error, disk = fork_run.outputs[0]["text"].split()
    assert int(children) < 48 and fork_error == "BlockingIOError"
    assert disk in ("OSError", "FileTooLarge") or disk.endswith("Error")
    assert flood.truncated and sum(len(o.get("text", "")) for o in flood.outputs) < 11_000
    assert any("output truncated" in e for e in kernel.events)


def test_memory_limit_stops_the_kernel_not_the_grader():
    cells = ["import torch\nhog = torch.ones(600 * 2**20, dtype=torch.uint8)\n"
             "hog2 = torch.ones(1200 * 2**20, dtype=torch.uint8)",
             "def alive():\n    return 'yes'"]
    with StudentKernel(cells, FAST) as kernel:
        runs = kernel.run_notebook()
        assert runs[0].status == "died" and "memory" in runs[0].error
        assert kernel.call("alive")["output"] == "yes"
        assert kernel.peak_memory_bytes > 600 * 2**20
