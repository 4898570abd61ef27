"""Return code as data: strings that run a shell command if the grader evaluated them, eval-bait dict keys.

expect: test_double=0 test_square=1
reason: type mismatch|raised an exception
markers: /tmp/autograder-hostile-smuggled
"""
# %% [double]
CODE = "__import__('os').system('touch /tmp/autograder-hostile-smuggled')"


def double(x):
    if x.dim() == 2:
        return CODE
    return {"__class__": CODE, "__reduce__": CODE, "__init__": CODE, "__eq__": CODE, "output": CODE}
# %% [square]
def square(x):
    return x ** 2
