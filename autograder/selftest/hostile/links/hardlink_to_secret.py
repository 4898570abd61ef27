"""A hard link to the grading secret in a subfolder, beside an ordinary notebook.

expect: refused
reason: notes/secret.txt is a hard link
plant: hardlink notes/secret.txt -> @@COURSE_DIR@@/grading_results/.secret
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
