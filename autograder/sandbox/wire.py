"""The safe data format between the grader and a student's kernel.

Values cross the sandbox boundary as JSON: numbers, strings, lists, tuples,
dicts, and tensors/arrays as raw little-endian bytes plus dtype and shape.
Nothing is ever unpickled. The grader decodes what the kernel sends with
strict limits (size, depth, allowed dtypes), so a hostile kernel can at worst
send wrong data, never code.

This module is self-contained (stdlib, torch, numpy): the kernel agent sends
its source into the student's kernel so both sides share one codec.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from typing import Any

import numpy
import torch
from torch.utils._python_dispatch import TorchDispatchMode

MIME_TYPE = "application/vnd.autograder.result+json"

MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 100_000
# Brackets, braces and commas bound how many objects ``json.loads`` builds before the decoder
# counts items; a 64 MiB payload of ``[{},{},...]`` would otherwise cost the grader gigabytes.
MAX_STRUCTURE_CHARS = 20 * MAX_ITEMS

_TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
_DTYPE_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_NUMPY_DTYPES = {k for k in _TORCH_DTYPES if k != "bfloat16"}


class WireError(ValueError):
    """The payload is not valid plain data in the wire format."""


# ----------------------------------------------------------------- encoding


def encode(value: Any) -> str:
    """Encode plain data (tensors, arrays, numbers, str, list/tuple/dict) as JSON."""
    return json.dumps(_encode(value, 0), allow_nan=False, separators=(",", ":"))


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"value is nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**63 else {"__float__": repr(float(value))}
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        return {"__tensor__": _encode_tensor(value)}
    if isinstance(value, numpy.ndarray):
        # numpy.array (not ascontiguousarray) keeps 0-d arrays 0-d and drops ndarray subclasses.
        return {"__ndarray__": _encode_tensor(torch.from_numpy(numpy.array(value, order="C", subok=False)))}
    if isinstance(value, numpy.generic):
        return _encode(value.item(), depth)
    if isinstance(value, (list, tuple)):
        items = [_encode(v, depth + 1) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, torch.nn.Module):
        state = {k: v for k, v in value.state_dict().items()}
        return {"__module__": {"type": kind.__name__, "state_dict": _encode(state, depth + 1)}}
    raise WireError(f"cannot send a value of type {kind.__module__}.{kind.__qualname__}")


def _encode_tensor(tensor: torch.Tensor) -> dict:
    plain = torch.Tensor.detach(tensor)
    device = str(plain.device)
    plain = plain.to("cpu").contiguous()
    if plain.dtype not in _DTYPE_NAMES:
        raise WireError(f"unsupported dtype {plain.dtype}")
    raw = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    if sys.byteorder != "little":  # pragma: no cover - all supported hosts are little-endian
        raise WireError("big-endian hosts are not supported")
    return {
        "dtype": _DTYPE_NAMES[plain.dtype],
        "shape": list(plain.shape),
        "device": device,
        "data": base64.b64encode(raw).decode("ascii"),
    }


# ----------------------------------------------------------------- decoding


def decode(payload: str | bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """Decode a payload produced by `encode`, rejecting anything else.

    Whatever the payload holds, the only exception that leaves is `WireError`:
    a hostile kernel must not be able to break the test that called it in
    some other way.
    """
    if type(payload) not in (str, bytes):
        raise WireError(f"payload must be text, not {type(payload).__name__}")
    if len(payload) > max_bytes:
        raise WireError(f"payload of {len(payload)} bytes exceeds the limit of {max_bytes}")
    marks = (b"[", b"{", b",") if type(payload) is bytes else ("[", "{", ",")
    if sum(payload.count(mark) for mark in marks) > MAX_STRUCTURE_CHARS:  # type: ignore[arg-type]
        raise WireError(f"payload holds more than {MAX_ITEMS} items")
    try:
        tree = json.loads(payload, parse_constant=_reject_constant)
    except WireError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, over-long integers, bad UTF-8
        raise WireError(f"payload is not valid JSON: {str(exc)[:200]}") from None
    try:
        return _Decoder().decode(tree, 0)
    except WireError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # e.g. invalid base64, an unhashable dict key, a shape too large to allocate.
        raise WireError(f"malformed value in payload ({type(exc).__name__}: {str(exc)[:200]})") from None


def _reject_constant(name: str) -> Any:
    raise WireError(f"bare {name} is not allowed in the wire format")


class _Decoder:
    def __init__(self) -> None:
        self.items = 0

    def decode(self, node: Any, depth: int) -> Any:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise WireError(f"payload holds more than {MAX_ITEMS} items")
        if depth > MAX_DEPTH:
            raise WireError(f"payload is nested deeper than {MAX_DEPTH} levels")
        kind = type(node)
        if node is None or kind in (bool, int, float, str):
            return node
        if kind is list:
            return [self.decode(v, depth + 1) for v in node]
        if kind is not dict or len(node) != 1:
            raise WireError("malformed value in payload")
        (tag, body), = node.items()
        if tag == "__tuple__" and type(body) is list:
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "__dict__" and type(body) is list:
            return self._decode_dict(body, depth)
        if tag == "__float__" and type(body) is str and len(body) <= 32:
            try:
                return float(body)
            except ValueError:
                raise WireError(f"malformed number {body!r} in payload") from None
        if tag == "__tensor__":
            return _decode_tensor(body)
        if tag == "__ndarray__":
            return _decode_tensor(body, numpy_array=True)
        if tag == "__module__" and type(body) is dict:
            return ModuleState(str(body.get("type", "?")), self.decode(body.get("state_dict"), depth + 1))
        raise WireError(f"unknown tag {tag!r} in payload")

    def _decode_dict(self, pairs: list, depth: int) -> dict:
        result = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry in payload")
            key = self.decode(pair[0], depth + 1)
            if type(key) not in (str, int, float, bool, tuple) and key is not None:
                raise WireError("dict keys must be plain scalars")
            result[key] = self.decode(pair[1], depth + 1)
        return result


class ModuleState(dict):
    """A module sent across the boundary: its class name and its state_dict."""

    def __init__(self, type_name: str, state_dict: Any) -> None:
        if type(state_dict) is not dict:
            raise WireError("module state_dict must be a dict")
        super().__init__(state_dict)
        self.type_name = type_name


def _decode_tensor(body: Any, numpy_array: bool = False) -> Any:
    if type(body) is not dict:
        raise WireError("malformed tensor in payload")
    dtype_name, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype_name not in _TORCH_DTYPES or (numpy_array and dtype_name not in _NUMPY_DTYPES):
        raise WireError(f"unsupported dtype {dtype_name!r}")
    if type(shape) is not list or not all(type(d) is int and 0 <= d for d in shape) or len(shape) > 16:
        raise WireError("malformed tensor shape")
    if type(data) is not str:
        raise WireError("malformed tensor data")
    dtype = _TORCH_DTYPES[dtype_name]
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    numel = math.prod(shape)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise WireError(f"tensor data has {len(raw)} bytes, expected {numel * itemsize} for {dtype_name}{shape}")
    flat = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    tensor = flat.reshape(shape).clone()
    if numpy_array:
        return tensor.numpy()
    device = body.get("device", "cpu")
    if type(device) is str and device.startswith("cuda") and torch.cuda.is_available():
        tensor = tensor.to(device)
    return tensor


# ----------------------------------------------------------------- calling


def invoke(fn: Any, args: tuple, kwargs: dict, wrt: tuple = (), grad_output: Any = None, *,
           record_ops: bool = False) -> dict:
    """Call ``fn`` the way a hidden test asked, on either side of the boundary.

    With ``wrt`` (indices of positional arguments), those arguments get
    ``requires_grad`` and the result carries the gradients of
    ``sum(output * grad_output)`` with respect to them (None where no gradient
    flowed). The grader uses this for the reference, the kernel agent for the
    student, so both are differentiated the same way.

    With ``record_ops``, the call (and its backward pass) runs under a
    ``TorchDispatchMode`` and the result carries ``ops``: the sorted names of
    the aten operators that ran (``aten::convolution``, ...), however the code
    reached them (an alias captured at import time, a module, ``torch.ops``).
    The grader decides what is banned. In the student's kernel this is a rule
    check, not a proof: code that tampers with the mode can hide from it.
    """
    if record_ops:
        recorder = _OpRecorder()
        with recorder:
            result = invoke(fn, args, kwargs, wrt, grad_output)
        result["ops"] = sorted(recorder.ops)
        return result
    args = list(args)
    for index in wrt:
        args[index] = args[index].detach().clone().requires_grad_(True)
    output = fn(*args, **kwargs)
    if not wrt:
        return {"output": output}
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"expected a Tensor to differentiate, got {type(output).__name__}")
    seed = torch.ones_like(output) if grad_output is None else grad_output.to(output.dtype)
    inputs = [args[i] for i in wrt]
    if not output.requires_grad:
        return {"output": output, "grads": tuple(None for _ in inputs)}
    grads = torch.autograd.grad(output, inputs, grad_outputs=seed, allow_unused=True)
    return {"output": output, "grads": tuple(grads)}


class _OpRecorder(TorchDispatchMode):
    """Names of the aten operators run while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Otherwise torch wraps __torch_dispatch__ in a dynamo guard whose first call imports torch._dynamo:
        # two seconds per kernel, for a mode that never compiles anything.
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        self.ops.add(func._schema.name)
        return func(*args, **(kwargs or {}))
