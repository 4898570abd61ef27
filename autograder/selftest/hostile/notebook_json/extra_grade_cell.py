"""Edit the notebook JSON: add a new locked grade cell test_bonus worth 50 points that always passes.

nbgrader refuses the whole notebook (a grade cell it does not know): no credit, the reason in the grader's log,
but no feedback for the student (see the report's gaps).

expect: refused
reason: validate|grade_id
edit: extra_grade_cell
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
