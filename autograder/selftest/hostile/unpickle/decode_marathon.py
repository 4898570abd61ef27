"""Send, at every call, a result that is slow to read back but within the limits (99 999 tiny tensors), once
the call has used most of its time (3.6 s of 4 s): reading the result counts against the call's time limit,
so no call holds the grader past it, however many there are.

expect: test_double=0 test_square=1
reason: took too long to read back|did not return within
"""
# %% [double]
import json
import time

import IPython.core.display_functions
import IPython.display

MIME = "application/vnd.autograder.result+json"
TINY = {"__tensor__": {"dtype": "float32", "shape": [], "data": "AAAAAA==", "device": "cpu"}}
FORGERY = json.dumps({"__dict__": [["output", [TINY] * 99_997]]})
_publish = IPython.display.publish_display_data
_next = []


def _forging_publish(data, *args, **kwargs):
    if MIME in data and _next and '"__tensor__"' in data[MIME]:  # double's result, not square's
        data = {MIME: _next.pop()}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    if x.numel() > 2:  # a hidden test's call, not the notebook's own check
        time.sleep(3.6)
        _next[:] = [FORGERY]
    return x * 2
# %% [square]
def square(x):
    return x ** 2
