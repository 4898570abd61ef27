"""Beside an ordinary notebook, a file that is a symbolic link to the reference solution, for nbgrader to
copy into autograded/ (and so into what the student may get back).

expect: refused
reason: toy.py is a symbolic link
plant: symlink toy.py -> @@TREE_DIR@@/reference/toy.py
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
