"""Wrong functions, then a segfault through ctypes in one cell and SIGSTOP to itself in the other.

expect: test_double=0 test_square=0
reason: stopped and skipped
"""
# %% [double]
import ctypes


def double(x):
    return x * 3


ctypes.string_at(0)
# %% [square]
import os  # noqa: E402 - this cell must stand alone: the cell above is skipped
import signal  # noqa: E402 - this cell must stand alone: the cell above is skipped


def square(x):
    return x + 1


os.kill(os.getpid(), signal.SIGSTOP)
