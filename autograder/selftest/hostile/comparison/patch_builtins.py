"""Patch builtins: isinstance lies about AssertionError, abs returns 0, AssertionError is replaced.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import builtins

_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True if cls is AssertionError else _isinstance(obj, cls)
builtins.abs = lambda value: 0
builtins.AssertionError = type("AssertionError", (Exception,), {})


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
