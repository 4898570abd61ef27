"""A Unix socket file beside the notebook (nothing can be read from it, a copy of it fails).

expect: refused
reason: data/sock is a socket
plant: socket data/sock
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
