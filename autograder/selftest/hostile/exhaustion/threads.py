"""Start threads until none can be started (each sleeps), on every call of double.

expect: test_double=0 test_square=1
reason: can't start new thread|Resource temporarily unavailable
"""
# %% [double]
import threading
import time


def double(x):
    for _ in range(100_000):
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    return x * 2
# %% [square]
def square(x):
    return x ** 2
