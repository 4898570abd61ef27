"""Edit the notebook JSON: the test_double grade cell's source becomes print('ok') and both grade cells claim
100 points; double is wrong.

expect: test_double=0 test_square=1
reason: values are not close
edit: grade_cell_source_and_points
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
