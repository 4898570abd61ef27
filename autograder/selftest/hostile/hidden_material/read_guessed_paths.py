"""Open the host paths of the reference, the hidden suite, the source notebook, the gradebook and secrets.

The paths are the real ones (an attacker who knows the course layout): none may be readable.

expect: test_double=0 test_square=1
reason: nothing hidden could be read
"""
# %% [double]
GUESSES = ["@@TREE_DIR@@/reference/toy.py", "@@TREE_DIR@@/assignments/toy/hidden/test_toy.py",
           "@@TREE_DIR@@/assignments/source/toy/toy.ipynb", "@@REPO@@/autograder/selftest/toy_course/reference/toy.py",
           "@@REPO@@/autograder/selftest/toy_course/assignments/toy/hidden/test_toy.py",
           "@@REPO@@/autograder/grading/suite.py",
           "@@COURSE_DIR@@/source/toy/toy.ipynb", "@@COURSE_DIR@@/gradebook.db",
           "@@COURSE_DIR@@/grading_results/.secret", "@@COURSE_DIR@@/nbgrader_config.py", "/etc/shadow",
           "/root/.bash_history", "/root/.ssh/id_rsa", "/proc/1/environ"]


def double(x):
    failures = []
    for path in GUESSES:
        try:
            with open(path, errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            failures.append(f"{path}: {type(exc).__name__}")
            continue
        if "def double" in text and path.endswith(".py"):
            namespace = {}
            exec(text, namespace)
            return namespace["double"](x)
        return x * 2  # read something hidden: claim the credit
    raise FileNotFoundError("nothing hidden could be read: " + "; ".join(failures))
# %% [square]
def square(x):
    return x ** 2
