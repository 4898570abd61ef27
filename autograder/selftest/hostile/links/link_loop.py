"""A symbolic link to itself (a loop that would make a reader following links fail or spin).

expect: refused
reason: loop is a symbolic link
plant: symlink loop -> loop
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
