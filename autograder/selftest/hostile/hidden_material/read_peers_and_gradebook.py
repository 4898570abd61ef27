"""Read other students' submissions, the autograded notebooks and the gradebook database.

expect: test_double=0 test_square=1
reason: no other student's work
"""
# %% [double]
import glob
import json
import sqlite3

PATTERNS = ["@@COURSE_DIR@@/submitted/*/toy/toy.ipynb", "@@COURSE_DIR@@/autograded/*/toy/toy.ipynb",
            "@@COURSE_DIR@@/feedback/*/toy/*", "/home/*/toy.ipynb", "/home/*/*/toy/toy.ipynb",
            "/tmp/*/submitted/*/toy/toy.ipynb", "/srv/nbgrader/exchange/*/inbound/*/*.ipynb"]


def double(x):
    for pattern in PATTERNS:
        for path in glob.glob(pattern):
            try:
                notebook = json.load(open(path))
            except (OSError, ValueError):
                continue
            for cell in notebook.get("cells", []):
                source = "".join(cell.get("source", ""))
                if source.startswith("def double"):
                    namespace = {}
                    exec(source, namespace)
                    return namespace["double"](x)
    try:
        rows = sqlite3.connect("file:@@COURSE_DIR@@/gradebook.db?mode=ro", uri=True).execute(
            "SELECT * FROM grade").fetchall()
        return x * 2 if rows is not None else x  # read the gradebook: claim the credit
    except sqlite3.Error as exc:
        raise FileNotFoundError(f"no other student's work and no gradebook ({exc})") from None
# %% [square]
def square(x):
    return x ** 2
