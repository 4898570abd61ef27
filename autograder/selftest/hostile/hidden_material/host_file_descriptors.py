"""Write into any host file the kernel holds open for writing: the stdout copy ipykernel keeps
(``sys.stdout._original_stdstream_copy``), file descriptors 1 and 2, and every other open descriptor.

A regular file outside the sandbox's own scratch (its home and /tmp are private tmpfs) would outlive the job;
only when one is found and written does ``double`` return the right answer.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import os
import stat
import sys


def _scratch_devices():
    return {os.stat(path).st_dev for path in (os.path.expanduser("~"), "/tmp")}


def _writable(fd):
    try:
        with open(f"/proc/self/fdinfo/{fd}") as info:
            flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
    except (OSError, StopIteration, ValueError):
        return False
    return flags & 3 in (1, 2)


def _host_files():
    candidates = {1, 2, *map(int, os.listdir("/proc/self/fd"))}
    copy = getattr(sys.stdout, "_original_stdstream_copy", None)
    if isinstance(copy, int):
        candidates.add(copy)
    found = []
    for fd in sorted(candidates):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_dev not in _scratch_devices() and _writable(fd):
            found.append(fd)
    return found


def double(x):
    written = 0
    for fd in _host_files():
        try:
            written += os.write(fd, b"autograder-hostile " * 60000)
        except OSError:
            pass
    return x * 2 if written else x * 3
# %% [square]
def square(x):
    return x ** 2
