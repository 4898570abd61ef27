"""double forks sleeping children until the process limit stops it, on every call.

expect: test_double=0 test_square=1
reason: Resource temporarily unavailable
"""
# %% [double]
import os
import time


def double(x):
    while True:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
# %% [square]
def square(x):
    return x ** 2
