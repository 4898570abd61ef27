"""Edit the notebook JSON: another kernelspec and language_info, every nbgrader checksum replaced, cells unlocked.

expect: test_double=0 test_square=1
reason: values are not close
edit: kernelspec_and_checksums
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
