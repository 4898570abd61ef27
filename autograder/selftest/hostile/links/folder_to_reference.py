"""Beside an ordinary notebook, a folder that is a symbolic link to the course's reference folder.

expect: refused
reason: reference is a symbolic link
plant: symlink reference -> @@TREE_DIR@@/reference
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
