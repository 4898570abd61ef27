"""Find the grader's recorder (the active dispatch mode) and rewrite its record after a convolution.

The convolution is renamed a multiplication in the record, and the recorder's list of operator names
is emptied. Replayed in the grader, the record's "multiplication" of the convolution's arguments does
not give the returned result.

expect: test_double=0 test_square=1
reason: banned operator|do not give the result|not those of the operations|does not follow|could not replay
"""
# %% [double]
import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode


def double(x):
    recorder = _get_current_dispatch_mode()
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    out = torch.nn.functional.conv1d(x.reshape(1, 1, -1), weight).reshape(x.shape)
    for attribute in ("lines",):
        lines = getattr(recorder, attribute, None)
        if isinstance(lines, list):
            lines[:] = [line.replace("aten::convolution", "aten::mul") for line in lines]
    ops = getattr(recorder, "ops", None)
    if isinstance(ops, set):
        ops.clear()
    return out
# %% [square]
def square(x):
    return x ** 2
