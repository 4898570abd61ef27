r"""Large many-framed replies on the shell channel, where the grader reads execute replies (to see whether the code
asked to exit): 8 frames of 32 MiB and 2000 of 128 KiB, addressed to the grader's own routing id, then the right
answer.

Replies are the kernel's to forge too: they are bounded like output, and the kernel is stopped.

expect: test_double=0 test_square=1
reason: sent a message over the \d+ MiB limit
"""
# %% [double]
import time

import IPython
import torch


def _forge(frames, size):
    kernel = IPython.get_ipython().kernel
    chunk = bytes(size)
    kernel.session.send(kernel.shell_stream, "execute_reply", {"status": "ok", "execution_count": 1},
                        parent=kernel.get_parent(), ident=kernel._parent_ident["shell"], buffers=[chunk] * frames)


def double(x):
    if x.dtype == torch.float64:
        _forge(2000, 128 * 2**10)
    else:
        _forge(8, 32 * 2**20)
    time.sleep(0.5)
    return x * 2
# %% [square]
def square(x):
    return x ** 2
