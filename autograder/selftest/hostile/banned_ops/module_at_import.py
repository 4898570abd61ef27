"""Compute 2 * x with an nn.Conv1d module built at import time.

expect: test_double=0 test_square=1
reason: used a banned operator aten::convolution
"""
# %% [double]
import torch

_layer = torch.nn.Conv1d(1, 1, 1, bias=False)
with torch.no_grad():
    _layer.weight.fill_(2.0)


def double(x):
    layer = _layer.to(x.dtype)
    return layer(x.reshape(1, 1, -1)).reshape(x.shape)
# %% [square]
def square(x):
    return x ** 2
