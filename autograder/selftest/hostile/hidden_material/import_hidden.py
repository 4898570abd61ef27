"""Import the reference, the hidden suite or the grader's package, with the host's paths put on sys.path.

expect: test_double=0 test_square=1
reason: nothing hidden could be imported
"""
# %% [double]
import importlib
import sys

sys.path[:0] = ["@@REPO@@", "@@TREE_DIR@@", "@@TREE_DIR@@/reference", "@@TREE_DIR@@/assignments/toy/hidden",
                "@@REPO@@/autograder/selftest/toy_course/reference"]
ATTEMPTS = ("reference", "reference.toy", "toy", "test_toy", "autograder", "autograder.suite", "autograder.job",
            "autograder.grading.suite", "autograder.grading.job", "autograder.course.assignment",
            "tests.conftest", "_autograder_reference_toy")


def double(x):
    failures = []
    for name in ATTEMPTS:
        try:
            module = importlib.import_module(name)
        except BaseException as exc:
            failures.append(f"{name}: {type(exc).__name__}")
            continue
        return module.double(x) if hasattr(module, "double") else x * 2  # anything hidden: claim the credit
    raise ImportError("nothing hidden could be imported: " + ", ".join(failures))
# %% [square]
def square(x):
    return x ** 2
