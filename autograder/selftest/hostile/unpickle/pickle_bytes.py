"""Return pickle bytes, hoping the grader unpickles what comes back.

expect: test_double=0 test_square=1
reason: cannot send a value of type builtins.bytes|expected a Tensor to differentiate
"""
# %% [double]
import pickle


def double(x):
    return pickle.dumps(x * 2)
# %% [square]
def square(x):
    return x ** 2
