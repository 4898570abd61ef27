"""Zero the caller's tensor in place and return it, hoping the reference, called next on the same x, agrees.

The grader's own tensors never change (each call decodes its own copy in the kernel), and the kernel reports
the change: the call fails, naming the argument.

expect: test_double=0 test_square=1
reason: changed (its argument `x`|an input) in place
"""
# %% [double]
def double(x):
    x.zero_()
    return x
# %% [square]
def square(x):
    return x ** 2
