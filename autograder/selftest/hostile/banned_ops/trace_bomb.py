"""Append to the grader's record an operation that would allocate 40 GB when replayed.

The grader sizes each replayed operation on the meta device before it runs, and refuses one over its
cap: the grader's memory is not the student's to spend.

expect: test_double=0 test_square=1
reason: would allocate
"""
# %% [double]
import json

from torch.utils._python_dispatch import _get_current_dispatch_mode


def double(x):
    recorder = _get_current_dispatch_mode()
    out = x + x
    lines = getattr(recorder, "lines", None)
    if isinstance(lines, list):
        lines.append(json.dumps(["aten::zeros", "default", [[100000, 100000]], {"d": []}, {"t": 10**6}]))
    return out
# %% [square]
def square(x):
    return x ** 2
