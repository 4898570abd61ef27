"""Results too big for the grader, forged straight into the result payload: 90 MB (over the message limit),
70 MB (over the payload limit), and 60 MB of twenty million empty dicts (cheap to send, dear to parse).

The grader's own memory must stay where it was.

expect: test_double=0 test_square=1
reason: over the 80 MiB limit|no result came back|exceeds the limit|more than 100000 items
"""
# %% [double]
import IPython.core.display_functions
import IPython.display
import torch

MIME = "application/vnd.autograder.result+json"
_publish = IPython.display.publish_display_data
_next = []


def _forging_publish(data, *args, **kwargs):
    if MIME in data and _next:
        data = {MIME: _next.pop()}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    if x.requires_grad:
        _next.append('{"__dict__":[["output",[' + "{}," * 20_000_000 + "{}]]]}")
    elif x.dtype == torch.float64:
        _next.append('{"__dict__":[["output","' + "A" * 70_000_000 + '"]]}')
    elif x.dim() == 2:
        _next.append('{"__dict__":[["output","' + "A" * 90_000_000 + '"]]}')
    return x * 2
# %% [square]
def square(x):
    return x ** 2
