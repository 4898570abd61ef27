"""An infinite loop in the cell that defines double: the cell is stopped and skipped, the rest still grades.

expect: test_double=0 test_square=1
reason: time limit
"""
# %% [double]
def double(x):
    return x * 2


while True:
    pass
# %% [square]
def square(x):
    return x ** 2
