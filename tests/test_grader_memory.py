"""What a kernel sends cannot make the grader hold it: the review's reproduction, exactly as reported."""

from __future__ import annotations

import pytest
import torch

from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel
from autograder.sandbox.messages import KernelDied
from autograder.selftest.host import PeakMemory

pytestmark = pytest.mark.slow

# Issue 6, hole 1: one signed iopub message of 30 frames of 64 MiB. Before the relay it raised the grader's peak
# memory from 0.9 to 2.8 GiB while the student still scored.
MANY_FRAMES = '''
import IPython, time
def predict(X, w, b):
    k = IPython.get_ipython().kernel
    big = bytes(64 * 2**20)
    k.session.send(k.iopub_socket, "stream", {"name": "stdout", "text": "x"},
                   parent=k.get_parent(), buffers=[big] * 30)
    time.sleep(4)
    return X @ w + b
'''
LIMITS = Limits(memory_mb=4096, call_timeout_s=30, cell_timeout_s=30)


def test_one_message_of_many_large_frames_stops_the_kernel_not_the_grader():
    X, w, b = torch.ones(3, 2), torch.ones(2), torch.tensor(0.5)
    with StudentKernel([MANY_FRAMES], LIMITS) as kernel:
        kernel.run_notebook()
        with PeakMemory() as memory, pytest.raises(KernelDied, match=r"sent a message over the 80 MiB limit"):
            kernel.call("predict", (X, w, b))
        assert any("over the 80 MiB limit" in event for event in kernel.events)
        assert memory.rise_bytes < 200 * 2**20, f"the grader's memory rose {memory.rise_bytes // 2**20} MiB"
        kernel.run_notebook()  # the next test gets a fresh kernel, and the student's function is still there
        assert kernel.process_tree()
