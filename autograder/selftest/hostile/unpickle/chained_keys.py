"""Forge results whose dict keys share no hash but chain in the dict's table: 5 461 small ints, each steered
through occupied slots onto the one run of slots every key ends on once its hash is used up, so that each
steps over all the keys before it (as ints, then as floats). Quadratic like keys of one hash: milliseconds at
this size, that the kernel builds in a second; 1.6 s at the 43 690 keys a payload may hold.

expect: test_double=0 test_square=1
reason: fall into long chains
"""
# %% [double]
import json
import random

import IPython.core.display_functions
import IPython.display
import torch

MIME = "application/vnd.autograder.result+json"
BITS = 13  # the dict's table has 2**13 slots when the steered keys go in
_publish = IPython.display.publish_display_data
_next = []


def _keys_that_chain(bits):
    size, steps, rng = 1 << bits, (bits + 9) // 5, random.Random(bits)
    mask, keys, occupied = size - 1, rng.sample(range(1 << 20, 1 << 40), size // 3), bytearray(size)
    for key in keys:  # the keys the dict holds when it grows to 2**bits slots
        i, perturb = key & mask, key
        while occupied[i]:
            perturb >>= 5
            i = (5 * i + perturb + 1) & mask
        occupied[i] = 1
    order, position = [0] * size, [0] * size  # once a hash is used up: i -> 5i + 1, through every slot
    for n in range(1, size):
        order[n] = (5 * order[n - 1] + 1) & mask
        position[order[n]] = n
    free = [n + 1 if occupied[order[n]] else n for n in range(size)] + [size]

    def next_free(n):
        while free[n] != n:
            free[n], n = free[free[n]], free[n]
        return n

    used, slots = set(keys), [slot for slot in range(size) if occupied[slot]]
    while len(keys) < size * 2 // 3:
        best = (-1, 0, 0)
        while best[0] < 0:
            low = rng.choice(slots)
            for key in range(low, 1 << (5 * steps), size):
                i, perturb, n = low, key, 0
                while n < steps and occupied[i]:
                    perturb >>= 5
                    i, n = (5 * i + perturb + 1) & mask, n + 1
                if n == steps and key not in used:
                    start = position[i]
                    end = next_free(start)
                    end = size + next_free(0) if end == size else end
                    best = max(best, (end - start, key, end % size))
        used.add(best[1])
        keys.append(best[1])
        occupied[order[best[2]]] = 1
        slots.append(order[best[2]])
        free[best[2]] = best[2] + 1
    return keys


KEYS = _keys_that_chain(BITS)
FORGERIES = [json.dumps({"__dict__": [["output", {"__dict__": [[key * kind(1), 0] for key in KEYS]}]]})
             for kind in (int, float)]


def _forging_publish(data, *args, **kwargs):
    if MIME in data and _next and '"__tensor__"' in data[MIME]:  # double's result, not square's
        data = {MIME: _next.pop()}
    return _publish(data, *args, **kwargs)


IPython.display.publish_display_data = _forging_publish
IPython.core.display_functions.publish_display_data = _forging_publish


def double(x):
    _next[:] = [FORGERIES[x.dtype == torch.float64]]
    return x * 2
# %% [square]
def square(x):
    return x ** 2
