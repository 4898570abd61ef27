"""Return an object whose __reduce__ runs a shell command when unpickled (or deep-copied) by the grader.

expect: test_double=0 test_square=1
reason: cannot send a value of type|expected a Tensor to differentiate
markers: /tmp/autograder-hostile-unpickled
"""
# %% [double]
import os


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/autograder-hostile-unpickled",))


def double(x):
    return {"output": Payload(), "x": x * 2}
# %% [square]
def square(x):
    return x ** 2
