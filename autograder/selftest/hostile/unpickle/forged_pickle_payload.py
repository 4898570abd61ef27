"""Replace the agent's result with raw wire JSON using tags the format does not have (__pickle__, object dtype).

expect: test_double=0 test_square=1
reason: cannot accept
markers: /tmp/autograder-hostile-forged
"""
# %% [double]
import base64
import json
import os
import pickle

import IPython.core.display_functions
import IPython.display

MIME = "application/vnd.autograder.result+json"
_publish = IPython.display.publish_display_data


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/autograder-hostile-forged",))


BLOB = base64.b64encode(pickle.dumps(Payload())).decode()
FORGERIES = [
    {"__dict__": [["output", {"__pickle__": BLOB}]]},
    {"__dict__": [["output", {"__module__": {"type": "os.system", "state_dict": {"__pickle__": BLOB}}}]]},
    {"__dict__": [["output", {"__ndarray__": {"dtype": "object", "shape": [1], "data": BLOB}}]]},
    {"__dict__": [["output", {"__tensor__": {"dtype": "float32", "shape": [4, 3], "data": "%%%not base64"}}]]},
]
_calls = []


def _forging_publish(data, *args, **kwargs):
    if MIME in data and '"__tensor__"' in data[MIME]:
        data = {MIME: json.dumps(FORGERIES[len(_calls) % len(FORGERIES)])}
        _calls.append(1)
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    return x * 2
# %% [square]
def square(x):
    return x ** 2
