"""Compute 2 * x with torch.ops.aten.convolution, its name assembled at run time so no source scan finds it.

expect: test_double=0 test_square=1
reason: used a banned operator aten::convolution
"""
# %% [double]
import torch

_op = getattr(torch.ops.aten, "con" + "volution")


def double(x):
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    out = _op(x.reshape(1, 1, -1), weight, None, [1], [0], [1], False, [0], 1)
    return out.reshape(x.shape)
# %% [square]
def square(x):
    return x ** 2
