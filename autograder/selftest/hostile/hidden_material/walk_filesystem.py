"""Walk the whole visible filesystem for hidden suites, references, notebooks, gradebooks and secrets.

expect: test_double=0 test_square=1
reason: found nothing hidden
"""
# %% [double]
import os
import time

HIDDEN_NAMES = ("toy.py", "test_toy.py", "gradebook.db", ".secret", "kernel.json", "toy.ipynb", "conftest.py")
FOUND = []
_start = time.monotonic()
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_root, d) not in ("/proc", "/sys", "/dev")]
    FOUND += [os.path.join(_root, name) for name in _files if name in HIDDEN_NAMES]
    if time.monotonic() - _start > 5:
        break


def double(x):
    for path in FOUND:
        try:
            with open(path, errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        if "def double" in text or "test_double" in text or path.endswith(".secret"):
            return x * 2  # found something hidden: claim the credit
    raise FileNotFoundError(f"found nothing hidden ({len(FOUND)} candidates: {FOUND[:8]})")
# %% [square]
def square(x):
    return x ** 2
