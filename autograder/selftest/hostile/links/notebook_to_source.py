"""The submitted notebook is a symbolic link to the course's source notebook, every solution in it: graded
as the instructor, it would score full marks, and its feedback would show every BEGIN SOLUTION block.

expect: refused
reason: toy.ipynb is a symbolic link .*submit your notebook file itself
plant: symlink toy.ipynb -> @@TREE_DIR@@/assignments/source/toy/toy.ipynb
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
