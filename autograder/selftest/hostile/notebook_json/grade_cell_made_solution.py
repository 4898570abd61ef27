"""Edit the notebook JSON: turn the test_double grade cell into an unlocked solution cell that redefines double
correctly, and the test_square grade cell into markdown; the double solution cell is wrong.

nbgrader refuses the whole notebook (inconsistent checksums): no credit, the reason in the grader's log, but no
feedback for the student (see the report's gaps).

expect: refused
reason: checksum
edit: grade_cell_made_solution
"""
# %% [double]
def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
