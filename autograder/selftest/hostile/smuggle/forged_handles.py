"""Forge handles to objects kept in the kernel: plant an object in the agent's table under an id the grader
never issued (its type claimed to be torch.Tensor) and return it; replace the agent's result with raw wire JSON
naming 50 000 handles the grader never issued.

The table lives in the student's process, so the student can write to it: the grader accepts a handle only
under an id it named for that very call (none, for a call that keeps nothing), so a forgery fails the
forger's own calls with a clear reason, and a flood of them costs the grader no more than any payload.

expect: test_double=0 test_square=1
reason: never issued|expected a Tensor to differentiate
"""
# %% [double]
import json

import IPython
import IPython.core.display_functions
import IPython.display
import torch

MIME = "application/vnd.autograder.result+json"
# With the operators and the input report a real result carries, so only the handles are wrong.
FLOOD = {"__dict__": [["output", [{"__handle__": {"id": f"{n:016x}.0", "type": "torch.Tensor"}}
                                  for n in range(50_000)]],
                      ["ops", []], ["inputs", {"__dict__": [["changed", []], ["names", ["x"]]]}]]}
_publish = IPython.display.publish_display_data
_forging = []


def _forging_publish(data, *args, **kwargs):
    if _forging and MIME in data:
        _forging.clear()
        data = {MIME: json.dumps(FLOOD)}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


class Planted:
    """Any object: it is the id it is kept under that the forgery is about."""


def _plant():
    agent = IPython.get_ipython().user_ns["__autograder__"]
    table = next(c.cell_contents for c in agent.__closure__ if hasattr(c.cell_contents, "objects"))
    value = Planted()
    table.objects["0123456789abcdef.0"] = (value, "torch.Tensor")
    table.ids[id(value)] = "0123456789abcdef.0"
    return value


def double(x):
    if x.dtype == torch.float64 and not x.requires_grad:
        _forging.append(True)
        return x * 2
    return _plant()



# %% [square]
def square(x):
    return x ** 2
