"""Wrong functions, then os._exit(3) in one cell and sys.exit(0) in the other.

sys.exit only raises SystemExit, which IPython reports as an error: the (wrong) square stays defined.

expect: test_double=0 test_square=0
reason: stopped and skipped|values are not close
"""
# %% [double]
import os


def double(x):
    return x * 3


os._exit(3)
# %% [square]
import sys  # noqa: E402 - this cell must stand alone: the cell above is skipped


def square(x):
    return x + 1


sys.exit(0)
