"""The wire format: plain data in, plain data out, anything else refused."""

import json

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
