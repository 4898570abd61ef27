"""Return objects built to trip whoever handles them: a __getattr__ that loops forever, a __class__ that claims
to be a module, a __del__ that raises SystemExit, a __repr__ that raises.

Without ``keep`` a call's result is plain data or nothing: none of these is kept, and the encoder reads only
their real types. What misbehaves runs in the student's own kernel, and the other tests still run.

expect: test_double=0 test_square=1
reason: cannot send a value|raised an exception|expected a Tensor to differentiate|kernel stopped|did not return
"""
# %% [double]
import torch


class Looping:
    def __getattr__(self, name):
        while True:
            pass

    def __repr__(self):
        raise RuntimeError("no repr for you")


class Pretender:
    @property
    def __class__(self):
        return torch.nn.Module

    def __getattr__(self, name):
        raise KeyError(name)


class Noisy:
    def __del__(self):
        raise SystemExit("dropped")


def double(x):
    if x.requires_grad:
        return Noisy()
    if x.dtype == torch.float64:
        return Pretender()
    return Looping()
# %% [square]
def square(x):
    return x ** 2
