"""Register a custom operator (torch.library) whose implementation convolves, and call it.

The recorder sees only `student::doubled`; inside it, the convolution runs out of its sight. No
operator outside aten replays in the grader.

expect: test_double=0 test_square=1
reason: not an operator such exercises allow|used a banned operator aten::convolution|not those of the operations it ran
"""
# %% [double]
import torch


@torch.library.custom_op("student::doubled", mutates_args=())
def _doubled(x: torch.Tensor) -> torch.Tensor:
    weight = torch.full((1, 1, 1), 2.0, dtype=x.dtype)
    return torch.nn.functional.conv1d(x.reshape(1, 1, -1), weight).reshape(x.shape)


def _backward(ctx, grad):
    return 2 * grad


_doubled.register_autograd(_backward)


def double(x):
    return _doubled(x)
# %% [square]
def square(x):
    return x ** 2
