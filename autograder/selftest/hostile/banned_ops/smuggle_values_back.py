"""Convolve with the recorder off, read the values out with .tolist() and put them back with torch.tensor.

Only the last step is recorded: a constant, the right values for the test's inputs and stale for any
other. The grader's replay on its secret other inputs shows it.

expect: test_double=0 test_square=1
reason: does not follow from the operations your code ran|not those of the operations it ran
"""
# %% [double]
import torch
from torch.utils._python_dispatch import _disable_current_modes


def double(x):
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    with _disable_current_modes():
        values = torch.nn.functional.conv1d(x.detach().reshape(1, 1, -1), weight).reshape(x.shape).tolist()
    return torch.tensor(values, dtype=x.dtype) + 0 * x
# %% [square]
def square(x):
    return x ** 2
