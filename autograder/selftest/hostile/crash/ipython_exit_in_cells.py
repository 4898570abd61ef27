"""Wrong functions, then IPython's exit() in one cell and quit() in the other (the kernel leaves later).

expect: test_double=0 test_square=0
reason: stopped and skipped
"""
# %% [double]
def double(x):
    return x * 3


exit()
# %% [square]
def square(x):
    return x + 1


quit()
