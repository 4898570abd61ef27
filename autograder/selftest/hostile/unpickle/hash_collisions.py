"""Forge results whose dict keys all share one hash: 20 000 int keys that are multiples of 2**61 - 1, float,
int and bool keys that all hash to 1, tuple keys of one hash. Put in a dict one by one, each would hold the
grader for seconds to minutes, outside every time limit.

expect: test_double=0 test_square=1
reason: share one hash value
"""
# %% [double]
import json

import IPython.core.display_functions
import IPython.display
import torch

MIME = "application/vnd.autograder.result+json"
P = 2**61 - 1  # an int hashes to itself modulo this; a float or a tuple to what the ints in it hash to
_publish = IPython.display.publish_display_data
_next = []


def _forged(keys):
    return json.dumps({"__dict__": [["output", {"__dict__": [[key, 0] for key in keys]}]]})


FORGERIES = {
    "int": _forged([i * P for i in range(1, 20_001)]),
    "float": _forged([2.0 ** (61 * j) for j in range(-17, 17)] + [1 + k * P for k in range(1, 20_000)] + [True]),
    "tuple": _forged([{"__tuple__": [i * P, "x"]} for i in range(1, 20_001)]),
}


def _forging_publish(data, *args, **kwargs):
    if MIME in data and _next and '"__tensor__"' in data[MIME]:  # double's result, not square's
        data = {MIME: _next.pop()}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    _next[:] = [FORGERIES["tuple" if x.requires_grad else "float" if x.dtype == torch.float64 else "int"]]
    return x * 2
# %% [square]
def square(x):
    return x ** 2
