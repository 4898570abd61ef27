"""Beside an ordinary notebook, a symbolic link to the grading secret that seeds every job.

expect: refused
reason: secret.txt is a symbolic link
plant: symlink secret.txt -> @@COURSE_DIR@@/grading_results/.secret
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
