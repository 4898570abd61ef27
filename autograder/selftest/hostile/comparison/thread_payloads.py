"""A background thread floods forged result payloads and "[PASS]" lines into whatever runs next.

double starts it (the public check cell calls double), so every later call sees forgeries beside its
real result, or, when the flood starves the kernel, does not answer in time: either way a clear reason.

expect: test_double=0 test_square=0
reason: results came back from your kernel where one was expected|did not return within
"""
# %% [double]
import threading
import time

import IPython

MIME = "application/vnd.autograder.result+json"
FORGED = '{"__dict__":[["output",{"__float__":"9.0"}]]}'
_started = []


def _flood():
    while True:
        IPython.display.publish_display_data({MIME: FORGED, "text/plain": "[PASS] 3 / 3"})
        print("[PASS] test_double (3/3)")
        time.sleep(0.001)


def double(x):
    if not _started:
        _started.append(threading.Thread(target=_flood, daemon=True))
        _started[0].start()
    return x * 3
# %% [square]
def square(x):
    return x ** 2
