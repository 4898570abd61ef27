"""Fill the private home, /tmp and the inode tables, then fail with the error the sandbox gave.

expect: test_double=0 test_square=1
reason: No space left|File too large|Errno
"""
# %% [double]
import os


def double(x):
    chunk = b"\0" * 2**20
    for folder in (os.path.expanduser("~"), "/tmp", "/dev/shm", "/var/tmp"):
        try:
            with open(os.path.join(folder, "autograder-hostile-fill.bin"), "wb") as handle:
                for _ in range(100_000):
                    handle.write(chunk)
        except OSError as exc:
            error = exc
    for index in range(20_000):
        try:
            open(os.path.join("/tmp", f"autograder-hostile-inode-{index}"), "w").close()
        except OSError as exc:
            error = exc
            break
    raise error
# %% [square]
def square(x):
    return x ** 2
