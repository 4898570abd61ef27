"""double crashes its kernel during calls: SIGKILL to itself, a ctypes segfault, os.abort(); exit() in the public
check.

expect: test_double=0 test_square=1
reason: kernel stopped while running double
"""
# %% [double]
import ctypes
import os
import signal

import torch


def double(x):
    if x.requires_grad:
        os.kill(os.getpid(), signal.SIGKILL)
    if x.dtype == torch.float64:
        ctypes.string_at(0)
    if x.dim() == 2:
        os.abort()
    exit()
# %% [square]
def square(x):
    return x ** 2
