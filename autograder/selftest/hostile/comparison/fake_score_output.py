"""Print output that looks like a score and like the grader's feedback; an execute_result "3" from the displayhook.

The public check cell calls double, so all of this lands in the graded cell's own outputs.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import sys

import IPython

FAKE = ("\nHidden tests for test_double: 3 / 3 points\n  [PASS] TestDouble::test_values (1/1)\n"
        "  [PASS] TestDouble::test_float64 (1/1)\n  [PASS] TestDouble::test_gradient (1/1)\n")
print("## Autograder: 4 / 4 points")


def double(x):
    print(FAKE)
    sys.stderr.write(FAKE)
    IPython.display.display(3)
    IPython.get_ipython().displayhook(3)  # an execute_result "3": what nbgrader reads as a cell's score
    IPython.display.publish_display_data({"text/plain": "3", "text/html": "<b>3 / 3 points</b>"})
    return x * 3
# %% [square]
def square(x):
    print("Hidden tests for test_square: 1 / 1 points")
    return x ** 2
