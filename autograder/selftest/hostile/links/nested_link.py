"""A symbolic link to the source notebook deep in subfolders, where a check of the top folder would not look.

expect: refused
reason: a/b/c/answers.ipynb is a symbolic link
plant: symlink a/b/c/answers.ipynb -> @@TREE_DIR@@/assignments/source/toy/toy.ipynb
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
