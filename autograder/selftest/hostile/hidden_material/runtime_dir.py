"""Use the kernel's runtime directory, the one host folder the sandbox shares: fill the host's disk through it,
plant a symlink, replace the connection file.

expect: test_double=0 test_square=1
reason: Permission denied
"""
# %% [double]
import os


def double(x):
    runtime = os.environ["JUPYTER_RUNTIME_DIR"]
    done = []
    error = None
    for index in range(200):
        try:
            with open(f"{runtime}/autograder-hostile-fill-{index}", "wb") as handle:
                handle.write(b"\0" * 2**20)
            done.append(index)
        except OSError as exc:
            error = exc
            break
    for attempt in (lambda: os.symlink("/etc/shadow", f"{runtime}/autograder-hostile-link"),
                    lambda: os.replace(f"{runtime}/kernel.json", f"{runtime}/kernel.old"),
                    lambda: os.chmod(runtime, 0o777),
                    lambda: os.mkfifo(f"{runtime}/autograder-hostile-fifo")):
        try:
            attempt()
            done.append(attempt)
        except OSError as exc:
            error = exc
    if done:
        return x * 2  # wrote on the host's disk: claim the credit
    raise error
# %% [square]
def square(x):
    return x ** 2
