"""The whole submission folder is a symbolic link to the course's source folder of the assignment.

expect: refused
reason: submission folder .*toy is a symbolic link
plant: symlink . -> @@TREE_DIR@@/assignments/source/toy
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
