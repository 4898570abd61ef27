"""Wrong functions, then SIGKILL to itself in one cell and os.abort() in the other.

expect: test_double=0 test_square=0
reason: stopped and skipped
"""
# %% [double]
import os
import signal


def double(x):
    return x * 3


os.kill(os.getpid(), signal.SIGKILL)
# %% [square]
import os  # noqa: E402 - this cell must stand alone: the cell above is skipped


def square(x):
    return x + 1


os.abort()
