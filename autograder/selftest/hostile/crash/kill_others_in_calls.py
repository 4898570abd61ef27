"""double kills around itself during calls: its process group, SIGSTOP to itself, every process (-1), its parent.

expect: test_double=0 test_square=1
reason: kernel stopped while running double|did not return within|raised an exception
"""
# %% [double]
import os
import signal

import torch


def double(x):
    if x.requires_grad:
        os.killpg(0, signal.SIGKILL)
    if x.dtype == torch.float64:
        os.kill(os.getpid(), signal.SIGSTOP)
    if x.dim() == 2:
        os.kill(-1, signal.SIGKILL)
        os.kill(os.getppid(), signal.SIGKILL)
    return x * 3
# %% [square]
def square(x):
    return x ** 2
