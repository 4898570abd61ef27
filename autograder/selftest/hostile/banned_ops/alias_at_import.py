"""Compute 2 * x with a convolution reached through an alias captured at import time.

The values (and gradients) are right; the hidden suite bans aten::convolution.

expect: test_double=0 test_square=1
reason: used a banned operator aten::convolution
"""
# %% [double]
import torch
from torch.nn.functional import conv1d as _smooth


def double(x):
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    return _smooth(x.reshape(1, 1, -1), weight).reshape(x.shape)
# %% [square]
def square(x):
    return x ** 2
