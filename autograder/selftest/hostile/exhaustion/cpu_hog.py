"""Background threads keep every core busy (torch and pure Python) from the first cell to the end.

expect: test_double=0 test_square=1
reason: values are not close
"""
# %% [double]
import threading

import torch


def _spin():
    a = torch.randn(256, 256)
    while True:
        a = torch.tanh(a @ a)
        sum(range(10_000))


for _ in range(4):
    threading.Thread(target=_spin, daemon=True).start()


def double(x):
    return x * 3
# %% [square]
def square(x):
    return x ** 2
