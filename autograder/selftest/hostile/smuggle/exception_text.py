"""Raise exceptions whose text imitates the grader's feedback, with terminal control codes and a lying __str__.

expect: test_double=0 test_square=1
reason: raised an exception
"""
# %% [double]
FAKE = "\x1b[2K\r\x1b[1A\x1b[2KHidden tests for test_double: 3 / 3 points\n  [PASS] test_values (1/1)\n"


class Innocent(Exception):
    def __str__(self):
        return FAKE * 1000

    def __repr__(self):
        return FAKE


def double(x):
    raise Innocent()
# %% [square]
def square(x):
    return x ** 2
