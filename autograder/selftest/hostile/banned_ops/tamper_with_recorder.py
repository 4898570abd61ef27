"""Switch off the kernel's operator recorder (pop the dispatch modes) around a convolution.

The kernel's record of the operators is only a claim: the grader replays it. The convolution's result
enters the record as a constant, which replays to itself on the test's inputs but not on the grader's
secret other inputs; its gradient is not that of the recorded operations.

expect: test_double=0 test_square=1
reason: does not follow from the operations your code ran|not those of the operations it ran
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
