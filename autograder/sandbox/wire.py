"""The safe data format between the grader and a student's kernel.

Values cross the sandbox boundary as JSON: numbers, strings, lists, tuples,
dicts, tensors/arrays as raw little-endian bytes plus dtype and shape, pandas
DataFrames as typed columns (`frames`), and `HandleRef`: the name of an object
kept in the kernel (see `kept`). Nothing is ever unpickled. The grader decodes what the kernel sends with
strict limits (size, depth, allowed dtypes), so a hostile kernel can at worst
send wrong data, never code.

This module is self-contained (stdlib, torch, numpy): the kernel agent sends
its source into the student's kernel so both sides share one codec, with the
sources of `frames` and `calling` beside it (set here by the agent).
"""

from __future__ import annotations

import base64
import binascii
import collections
import gc
import json
import math
import secrets
import sys
import time
from typing import Any

import numpy
import torch

try:  # in the grader; in the kernel the agent loads these modules from their sources and sets them here
    from . import frames as _frames
    from .calling import invoke
except ImportError:
    _frames = invoke = None  # type: ignore[assignment]

MIME_TYPE = "application/vnd.autograder.result+json"

MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 100_000
# Brackets, braces and commas bound how many objects ``json.loads`` builds before the decoder
# counts items; a 64 MiB payload of ``[{},{},...]`` would otherwise cost the grader gigabytes.
MAX_STRUCTURE_CHARS = 20 * MAX_ITEMS
# Keys of one dict that may share a hash: legitimate ones (str, small ints, class indices, tuples) all but
# never do; keys built to collide (multiples of 2**61 - 1, ...) would cost the grader quadratic time.
MAX_SAME_HASH = 8
# Mean steps over occupied slots that inserting a dict's keys may cost (see `_dict_probes`): random keys take
# about 1.5, keys in steps of 1/1024 or 2**40 about 25, keys built to chain thousands.
MAX_PROBES_PER_KEY = 32
MAX_HANDLE_CHARS = 64  # a handle's id (the grader checks its form) and, times 4, its type's name
MAX_NUMBER_CHARS = 32  # longest number literal: ``encode`` writes 20 characters at most for an int, 24 for a float

_TORCH_DTYPES = {name: getattr(torch, name) for name in (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64",
    "complex128")}
_DTYPE_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}
_ITEMSIZES = {k: torch.empty((), dtype=v).element_size() for k, v in _TORCH_DTYPES.items()}
_HASH_MODULUS = sys.hash_info.modulus
_HASH_SALT = secrets.randbelow(_HASH_MODULUS - 2) + 2  # hashes times this, modulo the above: a secret order
_PROBE_CHECK_KEYS = 512  # dicts with more keys than this have their table simulated (`_dict_probes`)
_CHECK_EVERY = 1024  # items decoded between two looks at the clock
_LARGE_DATA_CHARS = 1 << 20  # tensor data this long is timed on its own


class WireError(ValueError):
    """The payload is not valid plain data in the wire format."""


class WireTimeout(WireError):
    """Decoding ran past the deadline its caller gave."""


# ----------------------------------------------------------------- encoding


def encode(value: Any, keep: Any = None) -> str:
    """Encode plain data (tensors, arrays, frames, numbers, str, list/tuple/dict) as JSON.

    A module and any value that is not plain data is sent as the `HandleRef` that ``keep(value)``
    returns (the kernel agent's, see `kept`); where ``keep`` is None or returns None, a module as its
    state_dict (`ModuleState`) and any other such value is refused (`WireError`).
    """
    return json.dumps(_encode(value, 0, keep), allow_nan=False, separators=(",", ":"))


def _encode(value: Any, depth: int, keep: Any = None) -> Any:
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
        items = [_encode(v, depth + 1, keep) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, depth + 1), _encode(v, depth + 1, keep)] for k, v in value.items()]}
    if kind is HandleRef:
        return {"__handle__": {"id": value.id, "type": value.type_name}}
    if _frames is not None and _frames.is_frame(value):
        return {"__frame__": _encode(_frames.to_tree(value), depth + 1)}
    if keep is not None and (kept := keep(value)) is not None:
        return _encode(kept, depth)
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


def decode(payload: str | bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES, deadline: float | None = None) -> Any:
    """Decode a payload produced by `encode`, rejecting anything else.

    Whatever the payload holds, the only exception that leaves is `WireError`:
    a hostile kernel must not be able to break the test that called it in
    some other way. It costs time linear in the payload's size, whatever that
    holds; past ``deadline`` (a `time.monotonic` value) it stops with `WireTimeout`.
    """
    if type(payload) not in (str, bytes):
        raise WireError(f"payload must be text, not {type(payload).__name__}")
    if len(payload) > max_bytes:
        raise WireError(f"payload of {len(payload)} bytes exceeds the limit of {max_bytes}")
    marks = (b"[", b"{", b",") if type(payload) is bytes else ("[", "{", ",")
    if sum(payload.count(mark) for mark in marks) > MAX_STRUCTURE_CHARS:  # type: ignore[arg-type]
        raise WireError(f"payload holds more than {MAX_ITEMS} items")
    collecting = gc.isenabled()  # the collector would walk the growing tree again and again; it has no cycles
    gc.disable()
    try:
        try:
            tree = json.loads(payload, parse_constant=_reject_constant, parse_int=_parse_number,
                              parse_float=_parse_float)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
            if isinstance(exc, WireError):
                raise
            raise WireError(f"payload is not valid JSON: {str(exc)[:200]}") from None
        decoder = _Decoder(deadline)
        decoder.check_deadline()
        return decoder.decode(tree, 0)
    except WireError:
        raise
    except (ValueError, TypeError, OverflowError, RuntimeError, MemoryError) as exc:
        # e.g. invalid base64, an unhashable dict key, a device torch does not know (RecursionError included).
        raise WireError(f"malformed value in payload ({type(exc).__name__}: {str(exc)[:200]})") from None
    finally:
        if collecting:
            gc.enable()


def _reject_constant(name: str) -> Any:
    raise WireError(f"bare {name} is not allowed in the wire format")


def _parse_number(text: str, kind: type = int) -> Any:
    # int() of a long decimal string costs time quadratic in its length; `encode` writes 24 characters at most.
    if len(text) > MAX_NUMBER_CHARS:
        raise WireError(f"a number of {len(text)} characters in payload (the format has {MAX_NUMBER_CHARS} at most)")
    return kind(text)


def _parse_float(text: str) -> float:
    value = _parse_number(text, float)
    if not math.isfinite(value):  # 1e999999: `encode` sends infinities as {"__float__": "inf"}
        raise WireError(f"number {text} is out of range")
    return value


class _Decoder:
    def __init__(self, deadline: float | None = None) -> None:
        self.items = 0
        self.deadline = deadline
        self.next_check = min(_CHECK_EVERY, MAX_ITEMS + 1)

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WireTimeout(f"reading the result took longer than the call's time limit ({self.items} items read)")

    def decode(self, node: Any, depth: int) -> Any:
        self.items += 1
        if self.items >= self.next_check:  # every _CHECK_EVERY items, and at the item over MAX_ITEMS
            self.next_check = min(self.next_check + _CHECK_EVERY, MAX_ITEMS + 1)
            if self.items > MAX_ITEMS:
                raise WireError(f"payload holds more than {MAX_ITEMS} items")
            self.check_deadline()
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
        if tag in ("__tensor__", "__ndarray__"):
            return self._decode_tensor(body, numpy_array=tag == "__ndarray__")
        if tag == "__module__" and type(body) is dict and type(body.get("type", "?")) is str:
            return ModuleState(body.get("type", "?"), self.decode(body.get("state_dict"), depth + 1))
        if tag == "__handle__" and type(body) is dict and set(body) == {"id", "type"}:
            return HandleRef(body["id"], body["type"])
        if tag == "__frame__" and _frames is not None:
            return _frames.from_tree(self.decode(body, depth + 1))
        raise WireError(f"unknown tag {tag!r} in payload")

    def _decode_dict(self, pairs: list, depth: int) -> dict:
        keys, values = [], []
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry in payload")
            keys.append(self.decode(pair[0], depth + 1))
            if type(keys[-1]) not in (str, int, float, bool, tuple) and keys[-1] is not None:
                raise WireError("dict keys must be plain scalars")
            values.append(self.decode(pair[1], depth + 1))
        if len(keys) > MAX_SAME_HASH:
            hashes, first_general = _distinct_key_hashes(keys)
            if len(hashes) > _PROBE_CHECK_KEYS:
                self.check_deadline()
                if _dict_probes(hashes, first_general, MAX_PROBES_PER_KEY * len(hashes)) is None:
                    raise WireError(f"the keys of a dict in payload fall into long chains of its table (over "
                                    f"{MAX_PROBES_PER_KEY} steps a key): keys built to collide make a dict slow "
                                    "to build")
                self.check_deadline()
        return dict(zip(keys, values, strict=True))  # key by key, as `_dict_probes` counted

    def _decode_tensor(self, body: Any, numpy_array: bool) -> Any:
        if type(body) is not dict:
            raise WireError("malformed tensor in payload")
        name, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
        if type(name) is not str or name not in _TORCH_DTYPES or (numpy_array and name == "bfloat16"):
            raise WireError(f"unsupported dtype {str(name)[:50]!r}")
        if type(shape) is not list or len(shape) > 16:
            raise WireError("malformed tensor shape")
        nbytes = extent = _ITEMSIZES[name]
        for size in shape:
            if type(size) is not int or size < 0:
                raise WireError("malformed tensor shape")
            nbytes, extent = nbytes * size, extent * (size or 1)
        if extent > 2**62:  # an empty tensor, whose other sizes no array could span
            raise WireError(f"tensor shape {shape} is too large")
        if type(data) is not str:
            raise WireError("malformed tensor data")
        if large := len(data) > _LARGE_DATA_CHARS:
            self.check_deadline()
        raw = binascii.a2b_base64(data, strict_mode=True)  # ValueError on anything but ASCII base64
        if len(raw) != nbytes:
            raise WireError(f"tensor data has {len(raw)} bytes, expected {nbytes} for {name}{shape}")
        if large:
            self.check_deadline()
        # numpy's calls cost a fraction of torch's, which tells in a payload of many small tensors.
        array = numpy.frombuffer(raw, dtype="int16" if name == "bfloat16" else name).reshape(shape).copy()
        if numpy_array:
            return array
        tensor = torch.from_numpy(array) if name != "bfloat16" else torch.from_numpy(array).view(torch.bfloat16)
        device = body.get("device", "cpu")
        if type(device) is str and device.startswith("cuda") and torch.cuda.is_available():
            tensor = tensor.to(device)
        return tensor


def _distinct_key_hashes(keys: list) -> tuple[list[int], int]:
    """The hashes of the distinct ``keys`` (1, 1.0 and True are one) and the index among them of the first not a
    str (-1 if none); `WireError` where over MAX_SAME_HASH keys share a hash: keys of one hash fall into one chain
    of a dict, each compared with those before it (20 000 cost minutes). They are counted salted (times a secret,
    modulo the int hash's modulus), so that no one can choose keys whose count chains (see `_dict_probes`).
    """
    hashes = [hash(key) for key in keys]
    groups = [key_hash * _HASH_SALT % _HASH_MODULUS for key_hash in hashes]
    counts = collections.Counter(groups)
    distinct = range(len(keys))
    if len(counts) < len(keys):
        if max(counts.values()) > MAX_SAME_HASH:
            raise WireError(f"more than {MAX_SAME_HASH} keys of a dict in payload share one hash value (keys "
                            "built to collide make a dict slow to build)")
        members: dict[int, list[int]] = {}
        for index, group in enumerate(groups):
            if counts[group] > 1:
                members.setdefault(group, []).append(index)
        repeated = {b for indices in members.values() for n, b in enumerate(indices)
                    if any(keys[a] == keys[b] for a in indices[:n])}
        distinct = [index for index in distinct if index not in repeated]  # type: ignore[assignment]
        hashes = [hashes[index] for index in distinct]
    return hashes, next((n for n, index in enumerate(distinct) if type(keys[index]) is not str), -1)


def _dict_probes(hashes: list[int], first_general: int, budget: int) -> int | None:
    """The occupied slots CPython 3.11 steps over to insert keys of ``hashes`` into a new dict in order; None past
    ``budget``. Distinct hashes chain too: an int hashes to itself, and once probing has used a hash up, its key
    steps ``i -> 5i + 1`` like all others, so small ints chosen to meet on one run of slots and end it make each
    key step over all before it. As ``insertdict``: 8 slots, grown to the power of two over 3x the keys when 2/3
    are used or at the first key not a str; ``i = (5i + perturb + 1) & mask``, ``perturb >>= 5`` from the hash.
    """
    size, usable, probes = 8, 5, 0
    table = bytearray(size)
    for count, key_hash in enumerate(hashes):
        placing = [key_hash]
        if usable <= 0 or count == first_general > 0:
            size = 8
            while size < 3 * count:
                size *= 2
            usable, table, placing = 2 * size // 3 - count, bytearray(size), hashes[:count + 1]
        mask = size - 1
        for placed in placing:
            i = placed & mask
            if table[i]:
                perturb = placed & 0xFFFF_FFFF_FFFF_FFFF  # the hash as a C size_t
                while table[i]:
                    probes += 1
                    perturb >>= 5
                    i = (5 * i + perturb + 1) & mask
                if probes > budget:
                    return None
            table[i] = 1
        usable -= 1
    return probes


class HandleRef:
    """The name of an object kept in the kernel: its id and its type's name, checked for form only.

    Whose it is and whether it may be used is for the grader to decide (`grading.handles`).
    """

    __slots__ = ("id", "type_name")

    def __init__(self, id: Any, type_name: Any) -> None:
        if type(id) is not str or not 0 < len(id) <= MAX_HANDLE_CHARS or not id.isascii() or not id.isprintable():
            raise WireError("malformed handle id in payload")
        if type(type_name) is not str or len(type_name) > 4 * MAX_HANDLE_CHARS or not type_name.isprintable():
            raise WireError("malformed handle type in payload")
        self.id, self.type_name = id, type_name

    def __repr__(self) -> str:
        return f"HandleRef({self.id!r}, {self.type_name!r})"


class ModuleState(dict):
    """A module sent across the boundary: its class name and its state_dict."""

    def __init__(self, type_name: str, state_dict: Any) -> None:
        if type(state_dict) is not dict:
            raise WireError("module state_dict must be a dict")
        super().__init__(state_dict)
        self.type_name = type_name
