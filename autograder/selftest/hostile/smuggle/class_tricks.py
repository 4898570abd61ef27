"""Objects that lie about their class: __class__ claims torch.Tensor, a str subclass, a dict subclass whose
items() runs code, a float subclass.

expect: test_double=0 test_square=1
reason: raised an exception|cannot send a value|type mismatch|kernel stopped
markers: /tmp/autograder-hostile-class
"""
# %% [double]
import os

import torch


class Impostor:
    @property
    def __class__(self):
        return torch.Tensor

    def __getattr__(self, name):
        os.system("touch /tmp/autograder-hostile-class")
        raise AttributeError(name)


class Sneaky(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class Trap(dict):
    def items(self):
        os.system("touch /tmp/autograder-hostile-class")
        return super().items()


class Lying(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def double(x):
    if x.requires_grad:
        return Impostor()
    if x.dtype == torch.float64:
        return Sneaky("tensor")
    if x.dim() == 2:
        return Trap(output=x * 3)
    return Lying(0.0)
# %% [square]
def square(x):
    return x ** 2
