"""The submitted notebook is a symbolic link to a classmate's submitted notebook: their marks, their work.

expect: refused
reason: toy.ipynb is a symbolic link
plant: symlink toy.ipynb -> @@COURSE_DIR@@/submitted/honest_correct/toy/toy.ipynb
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
