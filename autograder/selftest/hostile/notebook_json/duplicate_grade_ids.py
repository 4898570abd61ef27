"""Edit the notebook JSON: a forged copy of the test_double grade cell (print('ok'), 100 points) placed before
the real one, and a second test_square; double is wrong.

nbgrader strips the duplicates' metadata and then refuses the whole notebook (its metadata schema): no credit,
the reason in the grader's log, but no feedback for the student (see the report's gaps).

expect: refused
reason: old version|schema
edit: duplicate_grade_ids
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
