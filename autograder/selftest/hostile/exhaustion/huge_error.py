"""double raises an exception whose message is 5 MB; so does a cell. The record must stay small.

expect: test_double=0 test_square=1
reason: raised an exception
"""
# %% [double]
def double(x):
    raise ValueError("e" * 5_000_000)


try:
    double(None)
except ValueError as exc:
    raise RuntimeError("c" * 5_000_000) from exc
# %% [square]
def square(x):
    return x ** 2
