r"""One signed output message made of many large frames (ZeroMQ bounds each frame, not the message), sent on the
output channel: 24 frames of 16 MiB, 3 of 40 MiB, 4000 of 64 KiB (the same bytes each time, so the kernel
itself stays within its memory), then the right answer.

The grader must stop the kernel when a message passes its limit, whatever the framing, and its own memory
must stay where it was.

expect: test_double=0 test_square=1
reason: sent a message over the \d+ MiB limit
"""
# %% [double]
import time

import IPython
import torch


def _send(frames, size):
    kernel = IPython.get_ipython().kernel
    chunk = bytes(size)
    kernel.session.send(kernel.iopub_socket, "stream", {"name": "stdout", "text": "x"},
                        parent=kernel.get_parent(), buffers=[chunk] * frames)


def double(x):
    if x.requires_grad:
        _send(4000, 64 * 2**10)
    elif x.dtype == torch.float64:
        _send(3, 40 * 2**20)
    else:
        _send(24, 16 * 2**20)
    time.sleep(0.5)
    return x * 2
# %% [square]
def square(x):
    return x ** 2
