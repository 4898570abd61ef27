"""The whole submission folder is a symbolic link to a classmate's submission folder.

expect: refused
reason: submission folder .*toy is a symbolic link
plant: symlink . -> @@COURSE_DIR@@/submitted/honest_correct/toy
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
