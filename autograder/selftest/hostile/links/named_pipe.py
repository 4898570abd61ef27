"""A named pipe beside the notebook: a reader that opens it blocks until someone writes, forever.

expect: refused
reason: data/pipe is a named pipe
plant: fifo data/pipe
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
