"""Patch torch's comparisons in the kernel (allclose, equal, isclose, testing.assert_close); return 3 * x.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import torch
import torch.testing

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
