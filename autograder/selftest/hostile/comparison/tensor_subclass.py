"""Return a torch.Tensor subclass whose __eq__, allclose and equal always say yes (values are 3 * x).

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import torch


class Agreeable(torch.Tensor):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.allclose, torch.Tensor.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def double(x):
    return (x * 3).as_subclass(Agreeable)
# %% [square]
def square(x):
    return x ** 2
