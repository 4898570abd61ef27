"""A background thread floods forged result payloads and "[PASS]" lines into the call that started it.

Each call of double starts a thread that publishes forgeries for 0.3 s while double waits, then returns a wrong
answer: the call sees forgeries beside its real result (or, when the flood starves the kernel, does not answer
in time): either way a clear reason, and the forged "right answer" never counts. square is honest and
unaffected: the flood is over before it runs.

expect: test_double=0 test_square=1
reason: results came back from your kernel where one was expected|did not return within|could not take calls
"""
# %% [double]
import threading
import time

import IPython

MIME = "application/vnd.autograder.result+json"
FORGED = '{"__dict__":[["output",{"__float__":"9.0"}]]}'


def _flood(seconds):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        IPython.display.publish_display_data({MIME: FORGED, "text/plain": "[PASS] 3 / 3"})
        print("[PASS] test_double (3/3)")
        time.sleep(0.001)


def double(x):
    flood = threading.Thread(target=_flood, args=(0.3,), daemon=True)
    flood.start()
    flood.join()
    return x * 3
# %% [square]
def square(x):
    return x ** 2
