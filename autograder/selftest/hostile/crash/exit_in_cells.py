"""Wrong functions, then os._exit(0) in one cell and os._exit(1) in the other, as if exiting early were passing.

expect: test_double=0 test_square=0
reason: stopped and skipped
"""
# %% [double]
import os


def double(x):
    return x * 3


os._exit(0)
# %% [square]
import os  # noqa: E402 - this cell must stand alone: the cell above is skipped


def square(x):
    return x + 1


os._exit(1)
