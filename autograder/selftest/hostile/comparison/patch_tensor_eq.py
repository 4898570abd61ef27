"""Patch torch.Tensor's comparison methods so every tensor equals every other; return 3 * x.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import torch

torch.Tensor.__eq__ = lambda self, other: True
torch.Tensor.__ne__ = lambda self, other: False
torch.Tensor.allclose = lambda self, *args, **kwargs: True
torch.Tensor.equal = lambda self, *args, **kwargs: True


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
