"""Read another kernel's connection file (its key lets one drive that kernel) and this kernel's own.

@@VICTIM_RUNTIME@@ is the runtime directory of another student's live kernel on the same host.

expect: test_double=0 test_square=1
reason: no connection file could be read
"""
# %% [double]
import glob
import os

OWN = os.environ.get("JUPYTER_RUNTIME_DIR", "/nonexistent")
PATTERNS = ["@@VICTIM_RUNTIME@@/kernel.json", "@@VICTIM_RUNTIME@@/*", "/tmp/autograder-*/runtime-*/kernel.json",
            "/tmp/*/*/kernel.json", "/root/.local/share/jupyter/runtime/*.json", "/run/user/*/jupyter/*.json",
            OWN + "/kernel.json", OWN + "/../*/kernel.json"]


def double(x):
    failures = []
    for pattern in PATTERNS:
        for path in glob.glob(pattern) or [pattern]:
            try:
                with open(path) as handle:
                    text = handle.read()
            except OSError as exc:
                failures.append(f"{path}: {type(exc).__name__}")
                continue
            if '"key"' in text:
                return x * 2  # a kernel's key: claim the credit
    raise PermissionError("no connection file could be read: " + "; ".join(failures[:6]))
# %% [square]
def square(x):
    return x ** 2
