"""Pass the public check, then allocate (and touch) 3 GiB on every hidden test's call of double.

expect: test_double=0 test_square=1
reason: memory limit|did not return within
"""
# %% [double]
def double(x):
    if x.numel() == 2:  # the public check's input
        return x * 2
    hog = b"x" * (3 * 2**30)
    return x * 2 + len(hog)
# %% [square]
def square(x):
    return x ** 2
