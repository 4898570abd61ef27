"""double passes the public check, then never returns on the hidden tests' inputs: each call hits its time limit.

expect: test_double=0 test_square=1
reason: did not return within
"""
# %% [double]
def double(x):
    if x.numel() == 2:  # the public check's input
        return x * 2
    while True:
        pass
# %% [square]
def square(x):
    return x ** 2
