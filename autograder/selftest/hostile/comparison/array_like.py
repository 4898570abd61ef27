"""Return an object that pretends to be a tensor: __array__, __torch_function__, __eq__, shape and dtype.

expect: test_double=0 test_square=1
reason: cannot send a value of type|expected a Tensor to differentiate
"""
# %% [double]
import numpy


class Pretender:
    shape = (4, 3)
    dtype = "float32"

    def __array__(self, dtype=None, copy=None):
        return numpy.zeros(self.shape, dtype=numpy.float32)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0

    def tolist(self):
        return []


def double(x):
    return Pretender()
# %% [square]
def square(x):
    return x ** 2
