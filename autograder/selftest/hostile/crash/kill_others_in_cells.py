"""Wrong functions, then kill the process group in one cell; kill the parent and every process (-1) in the other.

expect: test_double=0 test_square=0
reason: stopped and skipped|values are not close
"""
# %% [double]
import os
import signal


def double(x):
    return x * 3


os.killpg(0, signal.SIGKILL)
# %% [square]
import os  # noqa: E402 - this cell must stand alone: the cell above is skipped
import signal  # noqa: E402 - this cell must stand alone: the cell above is skipped


def square(x):
    return x + 1


for target in (os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
