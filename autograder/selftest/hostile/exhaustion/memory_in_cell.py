"""Allocate 3 GiB in the cell that defines double.

expect: test_double=0 test_square=1
reason: memory limit
"""
# %% [double]
import torch


def double(x):
    return x * 2


hog = torch.ones(3 * 2**30, dtype=torch.uint8)
# %% [square]
def square(x):
    return x ** 2
