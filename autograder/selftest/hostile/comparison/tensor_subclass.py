"""Return a torch.Tensor subclass whose __eq__, allclose and equal always say yes (values are 3 * x).

Its values fail the comparison; under the self-test's ban its gradient call fails the replay first (the
subclass made by as_subclass is a tensor no recorded operator produced).

expect: test_double=0 test_square=1
reason: values are not close|not those of the operations it ran
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
