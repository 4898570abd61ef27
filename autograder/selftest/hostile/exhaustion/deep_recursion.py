"""sys.setrecursionlimit(10**6), then recurse through C frames until the interpreter's stack overflows.

expect: test_double=0 test_square=1
reason: kernel stopped|RecursionError|memory limit
"""
# %% [double]
import sys

sys.setrecursionlimit(10**6)


def double(x):
    if x.numel() == 2:  # the public check's input
        return x * 2
    return list(map(double, [x, x]))
# %% [square]
def square(x):
    return x ** 2
