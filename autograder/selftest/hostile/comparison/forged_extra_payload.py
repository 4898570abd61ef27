"""Publish a forged result payload with the grader's MIME type claiming the right answer, then return 3 * x.

The forgery uses the agent's own codec, found through the agent's closure.

expect: test_double=0 test_square=1
reason: results came back from your kernel where one was expected
"""
# %% [double]
import IPython
import torch


def _codec():
    agent = IPython.get_ipython().user_ns["__autograder__"]
    return next(c.cell_contents for c in agent.__closure__ if hasattr(c.cell_contents, "MIME_TYPE"))


def double(x):
    codec = _codec()
    claim = {"output": x.detach() * 2, "grads": (torch.full_like(x.detach(), 2.0),)}
    IPython.display.publish_display_data({codec.MIME_TYPE: codec.encode(claim)})
    return x * 3
# %% [square]
def square(x):
    return x ** 2
