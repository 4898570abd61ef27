"""Flood output: 5 MB of text in the cell, fake result payloads with huge metadata, 1 MB per call of double.

The grading record must stay small; only the output limit's worth is kept.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import IPython

MIME = "application/vnd.autograder.result+json"
for _ in range(50):
    print("x" * 100_000)
for _ in range(20):
    IPython.display.publish_display_data({MIME: "y" * 1_000_000, "text/plain": "z"}, metadata={"m": "w" * 1_000_000})


def double(x):
    print("f" * 1_000_000)
    return x * 3
# %% [square]
def square(x):
    return x ** 2
