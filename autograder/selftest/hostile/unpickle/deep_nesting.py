"""Return a list nested 100 000 deep, and forge raw payloads nested far deeper than the wire format allows.

expect: test_double=0 test_square=1
reason: nested deeper|not valid JSON|cannot accept
"""
# %% [double]
import IPython.core.display_functions
import IPython.display

MIME = "application/vnd.autograder.result+json"
_publish = IPython.display.publish_display_data
FORGERIES = ['{"__dict__":[["output",' + "[" * 300_000 + "]" * 300_000 + "]]}",
             '{"__dict__":[["output",' + '{"__tuple__":[' * 50_000 + "]}" * 50_000 + "]]}"]
_calls = []


def _forging_publish(data, *args, **kwargs):
    if MIME in data and _calls and '"__tensor__"' in data[MIME]:
        data = {MIME: FORGERIES[len(_calls) % 2]}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    _calls.append(1)
    if len(_calls) == 1 or x.dim() == 2:
        value = x * 2
        for _ in range(100_000):
            value = [value]
        return value
    return x * 2
# %% [square]
def square(x):
    return x ** 2
