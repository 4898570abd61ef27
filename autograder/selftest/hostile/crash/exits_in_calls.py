"""double exits the kernel during the hidden tests' calls: os._exit(0), os._exit(1), os._exit(3); sys.exit() in
the public check.

expect: test_double=0 test_square=1
reason: kernel stopped while running double
"""
# %% [double]
import os
import sys

import torch


def double(x):
    if x.requires_grad:
        os._exit(3)
    if x.dtype == torch.float64:
        os._exit(1)
    if x.dim() == 2:
        os._exit(0)
    sys.exit(0)
# %% [square]
def square(x):
    return x ** 2
