"""The submitted notebook is a hard link to the course's source notebook: no symbolic link anywhere, the
same file under a second name.

expect: refused
reason: toy.ipynb is a hard link
plant: hardlink toy.ipynb -> @@TREE_DIR@@/assignments/source/toy/toy.ipynb
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
