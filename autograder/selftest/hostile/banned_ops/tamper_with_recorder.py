"""Switch off the kernel's operator recorder (pop the dispatch modes) around a convolution.

The check runs in the kernel the student controls: code that knows it is watched can hide from it.

expect: test_double=0 test_square=1
reason: used a banned operator aten::convolution
limit: an in-kernel operator check is a rule check, not a proof: code that disables the recorder hides from it
"""
# %% [double]
import torch
from torch.utils._python_dispatch import _disable_current_modes


def double(x):
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    with _disable_current_modes():
        out = torch.nn.functional.conv1d(x.reshape(1, 1, -1), weight)
    return out.reshape(x.shape)
# %% [square]
def square(x):
    return x ** 2
