"""A classic fork bomb in the cell that defines double: every process forks forever.

expect: test_double=0 test_square=1
reason: time limit
"""
# %% [double]
import os


def double(x):
    return x * 2


while True:
    try:
        os.fork()
    except OSError:
        pass
# %% [square]
def square(x):
    return x ** 2
