"""Patch numpy's comparisons (allclose, isclose, array_equal, testing.assert_allclose); return 3 * x.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import numpy
import numpy.testing

numpy.allclose = lambda *args, **kwargs: True
numpy.array_equal = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
