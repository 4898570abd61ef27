"""Return a numpy.ndarray subclass whose __eq__ says yes everywhere (values are 3 * x).

expect: test_double=0 test_square=1
reason: mismatch|raised an exception
"""
# %% [double]
import numpy


class Agreeable(numpy.ndarray):
    def __eq__(self, other):
        return numpy.ones(self.shape, dtype=bool)

    def __hash__(self):
        return 0


def double(x):
    return (x.detach().numpy() * 3).view(Agreeable)
# %% [square]
def square(x):
    return x ** 2
