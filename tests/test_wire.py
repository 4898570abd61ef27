"""The wire format: plain data in, plain data out, anything else refused."""

import json
import math
import random
import sys
import time

import numpy
import pytest
import torch

from autograder.sandbox import wire


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", [1, 2], (1, "a"), {"w": 1.0, 2: "x"},
    float("inf"), 2**70,
])
def test_plain_values_round_trip(value):
    decoded = wire.decode(wire.encode(value))
    if value == 2**70:
        assert decoded == float(2**70)
    else:
        assert decoded == value and type(decoded) is type(value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64, torch.bool])
def test_tensors_round_trip_with_dtype_and_shape(dtype):
    tensor = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    decoded = wire.decode(wire.encode({"out": (tensor, tensor[:, 1])}))
    assert torch.equal(decoded["out"][0], tensor) and decoded["out"][0].dtype == dtype
    assert torch.equal(decoded["out"][1], tensor[:, 1])  # non-contiguous input


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
def test_zero_dimensional_tensors_and_arrays_round_trip(dtype):
    scalar = torch.tensor(7, dtype=dtype)  # a loss, a bias: the commonest results of all
    decoded = wire.decode(wire.encode((scalar, scalar.numpy())))
    assert decoded[0].shape == () and decoded[0].dtype == dtype and decoded[0].item() == 7
    assert type(decoded[1]) is numpy.ndarray and decoded[1].shape == () and decoded[1].item() == 7


def test_nan_and_empty_tensors_and_arrays():
    decoded = wire.decode(wire.encode([torch.tensor([float("nan")]), torch.empty(0, 3), numpy.eye(2)]))
    assert torch.isnan(decoded[0]).all() and decoded[1].shape == (0, 3)
    assert type(decoded[2]) is numpy.ndarray and (decoded[2] == numpy.eye(2)).all()


def test_gradient_call_convention():
    result = wire.invoke(lambda x: (x * x).sum(), (torch.tensor([1.0, 3.0]),), {}, wrt=(0,))
    assert torch.equal(result["grads"][0], torch.tensor([2.0, 6.0]))
    detached = wire.invoke(lambda x: x.detach() * 2, (torch.tensor([1.0]),), {}, wrt=(0,))
    assert detached["grads"] == (None,)


@pytest.mark.parametrize("payload, reason", [
    ('{"__pickle__": "gASV"}', "unknown tag"),
    ('{"__tensor__": {"dtype": "float32", "shape": [4], "data": "AAAA"}}', "expected 16"),
    ('{"__tensor__": {"dtype": "object", "shape": [1], "data": ""}}', "unsupported dtype"),
    ('{"__tensor__": {"dtype": "float32", "shape": [-1], "data": ""}}', "shape"),
    ("NaN", "bare NaN"),
    ("[" * 5000 + "]" * 5000, "deeper|not valid JSON"),
    ('{"a": 1, "b": 2}', "malformed"),
])
def test_hostile_payloads_are_refused(payload, reason):
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(payload)


def test_oversized_payload_is_refused_before_parsing():
    with pytest.raises(wire.WireError, match="exceeds the limit"):
        wire.decode(json.dumps("x" * 100), max_bytes=50)


def test_objects_that_are_not_plain_data_cannot_be_sent():
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(object())


# ----------------------------------------------------------------- every supported value round-trips

ALL_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16, torch.int32,
              torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128]


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype_round_trips_as_tensor_and_array(dtype):
    tensor = (torch.arange(-12, 12).reshape(2, 3, 4) % 5).to(dtype)
    decoded = wire.decode(wire.encode([tensor, tensor.transpose(0, 2), tensor[0, 0, 0]]))
    for got, want in zip(decoded, [tensor, tensor.transpose(0, 2), tensor[0, 0, 0]], strict=True):
        assert got.dtype == dtype and got.shape == want.shape and torch.equal(got, want)
    decoded[0].zero_()  # a tensor of its own: writable, apart from the payload
    if dtype != torch.bfloat16:
        array = wire.decode(wire.encode(tensor.numpy()))
        assert type(array) is numpy.ndarray and array.dtype == tensor.numpy().dtype
        assert (array == tensor.numpy()).all() and array.flags.writeable


@pytest.mark.parametrize("value", [
    2**63 - 1, -2**63 + 1, -0.0, 5e-324, 1.7976931348623157e308, -float("inf"), "é\u2603\U0001F600\x00\"\\",
    [None, True, False, [], (), {}], {"w": {"b": (1, [2.5, "x"])}},
    {i: i * i for i in range(5000)},  # long enough for the dict check, as are the next ones
    {f"key{i}": i for i in range(5000)}, {(i, -i): str(i) for i in range(600)}, {i / 1024: i for i in range(20_000)},
    {7: "a", 7 + 2**61 - 1: "b", -1: "c", -2: "d"},  # pairs of keys with one hash are fine
    {None: 0, True: 1, 0.5: 2, "s": 3, (1, (2, "x")): 4},
])
def test_legitimate_values_round_trip(value):
    decoded = wire.decode(wire.encode(value))
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, dict):
        assert list(decoded) == list(value)  # the order too


def test_modules_large_tensors_and_gradients_round_trip():
    layer = torch.nn.Linear(3, 2)
    grad = torch.ones(2, requires_grad=True)
    decoded = wire.decode(wire.encode({"layer": layer, "big": torch.arange(1_000_000.0), "g": grad}))
    assert decoded["layer"].type_name == "Linear" and torch.equal(decoded["layer"]["weight"], layer.weight)
    assert torch.equal(decoded["big"], torch.arange(1_000_000.0)) and not decoded["g"].requires_grad


def test_repeated_keys_decode_as_a_dict_would_hold_them():
    payload = '{"__dict__": [[1, "a"], [2, "b"], [1.0, "c"], [true, "d"]]}'
    assert wire.decode(payload) == {1: "d", 2: "b"}


# ----------------------------------------------------------------- decoding costs time linear in the size

P = sys.hash_info.modulus  # 2**61 - 1: an int hashes to itself modulo this; floats and tuples follow ints


def _dict_of(keys: list) -> str:
    return json.dumps({"__dict__": [["output", {"__dict__": [[key, 0] for key in keys]}]]})


def _tuple(*items) -> dict:
    return {"__tuple__": list(items)}


def _keys_that_chain(bits: int) -> list[int]:
    """Distinct small ints, no two with one hash, that CPython 3.11 dicts still chain: the keys a dict holds when
    it grows to 2**bits slots (random), then keys each steered through occupied slots (a hash below 2**(5 *
    steps) is used up after ``steps`` probes) onto the one run of slots ``i -> 5i + 1`` that they extend."""
    size, steps, rng = 1 << bits, (bits + 9) // 5, random.Random(bits)
    mask, keys, occupied = size - 1, rng.sample(range(1 << 20, 1 << 40), size // 3), bytearray(size)
    for key in keys:
        i, perturb = key & mask, key
        while occupied[i]:
            perturb >>= 5
            i = (5 * i + perturb + 1) & mask
        occupied[i] = 1
    order, position = [0] * size, [0] * size  # the cycle i -> 5i + 1 through every slot
    for n in range(1, size):
        order[n] = (5 * order[n - 1] + 1) & mask
        position[order[n]] = n
    free = [n + 1 if occupied[order[n]] else n for n in range(size)] + [size]  # union-find: next free position

    def next_free(n: int) -> int:
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


def _decode_seconds(payload: str) -> tuple[float, str]:
    """The best of three decodes (fewer past a second): its CPU seconds (other work on the host does not
    count), and "ok" or the error."""
    best, outcome, spent = math.inf, "", 0.0
    for _ in range(3):
        if spent > 1.0:
            break
        start = time.process_time()
        try:
            wire.decode(payload)
            outcome = "ok"
        except wire.WireError as exc:
            outcome = str(exc)
        seconds = time.process_time() - start
        best, spent = min(best, seconds), spent + seconds
    return best, outcome


ADVERSARIAL = {  # name: (hostile payload, what it gives, a payload of the same shape that is not hostile)
    "int keys of one hash": (lambda: _dict_of([i * P for i in range(1, 20_001)]), "share one hash",
                             lambda: _dict_of([10**18 + i for i in range(20_000)])),
    "float, int, bool keys of one hash": (
        lambda: _dict_of([2.0 ** (61 * j) for j in range(-17, 17)] + [1 + k * P for k in range(1, 20_000)] + [True]),
        "share one hash", lambda: _dict_of(random.Random(0).sample(range(1 << 52), 20_000))),
    "tuple keys of one hash": (lambda: _dict_of([_tuple(i * P) for i in range(1, 20_001)]), "share one hash",
                               lambda: _dict_of([_tuple(i) for i in range(20_000)])),
    "long tuple keys of one hash": (lambda: _dict_of([_tuple(*[0] * 150, i * P) for i in range(1, 600)]),
                                    "share one hash", lambda: _dict_of([_tuple(*[0] * 150, i) for i in range(600)])),
    "repeated bool and None keys": (lambda: _dict_of([True, None, 1, 1.0, False, 0] * 3000), "share one hash",
                                    lambda: _dict_of(list(range(18_000)))),
    "distinct keys that chain": (lambda: _dict_of(_keys_that_chain(12)), "long chains",
                                 lambda: _dict_of(random.Random(1).sample(range(1 << 20), 2730))),
    "colliding keys in nested dicts": (
        lambda: json.dumps([json.loads(_dict_of([i * P for i in range(1, 2001)]))] * 20), "share one hash",
        lambda: json.dumps([json.loads(_dict_of(list(range(2000))))] * 20)),
    "nesting far past the limit": (lambda: "[" * 1_000_000 + "]" * 1_000_000, "not valid JSON",
                                   lambda: json.dumps(["x" * 100] * 19_000)),
    "4299-digit integers": (lambda: "[" + ",".join(["9" * 4299] * 2000) + "]", "characters in payload",
                            lambda: json.dumps(["9" * 4299] * 2000)),
    "a million-digit integer": (lambda: "9" * 1_000_000, "characters in payload", lambda: json.dumps("9" * 999_998)),
    "1e999999": (lambda: "[1e999999]", "out of range", lambda: json.dumps([1e300])),
    "a million-digit exponent": (lambda: "1e" + "9" * 1_000_000, "characters in payload",
                                 lambda: json.dumps("9" * 999_999)),
    "long strings of escapes": (lambda: '"' + "\\u00e9" * 1_000_000 + '"', "ok", lambda: json.dumps("x" * 5_999_998)),
    "two million empty objects": (lambda: "[" + "{}," * 2_000_000 + "{}]", "more than 100000 items",
                                  lambda: json.dumps(["x" * 1000] * 6000)),
    "thirty thousand tiny tensors": (
        lambda: json.dumps([{"__tensor__": {"dtype": "float32", "shape": [], "data": "AAAAAA=="}}] * 30_000), "ok",
        lambda: json.dumps(["x" * 66] * 30_000)),
    "empty tensors of huge shapes": (
        lambda: json.dumps([{"__tensor__": {"dtype": "float32", "shape": [0, 2**62, 2**62], "data": ""}}] * 1000),
        "too large", lambda: json.dumps([{"__tensor__": {"dtype": "float32", "shape": [0, 4], "data": ""}}] * 1000)),
    "a tensor of invalid base64": (
        lambda: json.dumps({"__tensor__": {"dtype": "uint8", "shape": [6_000_000], "data": "!" * 8_000_000}}),
        "malformed value", lambda: wire.encode(torch.zeros(6_000_000, dtype=torch.uint8))),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_hostile_payloads_cost_time_linear_in_their_size(name):
    make_hostile, expected, make_benign = ADVERSARIAL[name]
    hostile, benign = make_hostile(), make_benign()
    size = max(len(hostile), len(benign))
    hostile, benign = hostile.ljust(size), benign.ljust(size)  # trailing whitespace: the same number of bytes
    benign_seconds, benign_outcome = _decode_seconds(benign)
    seconds, outcome = _decode_seconds(hostile)
    assert benign_outcome == "ok"
    assert outcome == "ok" if expected == "ok" else expected in outcome, outcome
    assert seconds < 2.0 and seconds < 20 * benign_seconds + 0.01, (
        f"{name}: {seconds:.3f} s to decode, {benign_seconds:.4f} s for {size} benign bytes")


def test_keys_that_chain_without_sharing_a_hash_are_counted_exactly():
    keys = _keys_that_chain(11)
    assert len({hash(key) for key in keys}) == len(keys)
    probes = wire._dict_probes([hash(key) for key in keys], -1, 10**12)
    plain = wire._dict_probes([hash(key) for key in random.Random(2).sample(range(1 << 40), len(keys))], -1, 10**12)
    assert probes > 50 * plain and probes > wire.MAX_PROBES_PER_KEY * len(keys)
    assert wire._dict_probes([hash(key) for key in keys], -1, 1000) is None  # stops at the budget


# ----------------------------------------------------------------- the deadline


class _Clock:
    """A clock for `wire` that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now


def test_decoding_stops_at_the_deadline_every_few_items(monkeypatch):
    monkeypatch.setattr(wire, "time", _Clock())
    payload = json.dumps(list(range(50_000)))
    with pytest.raises(wire.WireTimeout, match=r"took longer than the call's time limit \(3072 items read\)"):
        wire.decode(payload, deadline=3.5)  # read once after parsing, then every 1024 items
    assert len(wire.decode(payload)) == 50_000  # no deadline, no clock


@pytest.mark.parametrize("deadline, stopped", [(1.5, True), (2.5, True), (3.5, False)])
def test_large_tensors_are_timed_on_their_own(monkeypatch, deadline, stopped):
    monkeypatch.setattr(wire, "time", _Clock())
    payload = wire.encode(torch.zeros(400_000))  # over a million base64 characters: timed before and after
    if stopped:
        with pytest.raises(wire.WireTimeout, match="took longer"):
            wire.decode(payload, deadline=deadline)
    else:
        assert wire.decode(payload, deadline=deadline).shape == (400_000,)


def test_a_deadline_already_passed_stops_any_payload():
    with pytest.raises(wire.WireTimeout, match="took longer than the call's time limit"):
        wire.decode(wire.encode({"output": 1}), deadline=time.monotonic() - 1)
    assert issubclass(wire.WireTimeout, wire.WireError)  # callers that catch WireError still catch it
    assert wire.decode(wire.encode({"output": 1}), deadline=time.monotonic() + 60) == {"output": 1}
