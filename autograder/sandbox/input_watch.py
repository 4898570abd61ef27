"""Which of a call's inputs the called function changed in place: the kernel's side of the input rule.

A function that updates its caller's tensors (``w -= lr * dw`` on an argument,
then ``return w``) is a real and common bug that a copy-per-call wire would
hide: the grader's own inputs never change, since the kernel decodes a fresh
copy for each call. So the kernel agent wraps the student's function in
`InputWatch`: before the call it takes a fingerprint of every tensor, array,
pandas DataFrame, list and dict reachable from the arguments (through lists,
tuples and dicts),
after it (returned or raised) it reports the paths of those that changed.
The grader validates the report and decides (`input_changes`); the reference
is watched the same way in the grader.

Like the banned-operator check, this is a rule check made in the student's own
process: code that tampers with the agent can hide a change from it, which
only hides its own bug, never reaches the grader's inputs.

This module's source is sent into the kernel beside the wire codec, so it is
self-contained (stdlib, torch, numpy).
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Any

import numpy
import torch
from torch.utils._python_dispatch import _disable_current_modes

MAX_CHANGES = 32  # paths reported per call: enough to name the culprits, bounded for the grader


class InputWatch:
    """``function`` with its arguments watched: after a call, `report` says which ones it changed in place."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.names: list[str | None] = []
        self.changed: list[list] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.names = parameter_names(self.function, len(args))
        # Outside any dispatch mode: the fingerprints' own operators must not count as the student's
        # (the banned-operator recorder may be active around this call).
        with _disable_current_modes():
            before = [(path, value, _fingerprint(value)) for path, value in _watched(args, kwargs)]
        try:
            return self.function(*args, **kwargs)
        finally:  # a function that changed an input and then raised has still changed it
            with _disable_current_modes():
                self.changed = [list(path) for path, value, seen in before if _changed(value, seen)][:MAX_CHANGES]

    def report(self) -> dict:
        """``changed``: paths (position or keyword, then list indices and dict keys); ``names``: by position."""
        return {"changed": self.changed, "names": self.names}


def parameter_names(function: Any, count: int) -> list[str | None]:
    """The names of ``function``'s first ``count`` positional parameters; None where it has none (``*args``)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except Exception:  # a builtin without a signature, or a student's __signature__ that raises
        return [None] * count
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names: list[str | None] = []
    for parameter in parameters:
        if parameter.kind not in positional:
            break
        names.append(parameter.name)
    return (names + [None] * count)[:count]


def _watched(args: tuple, kwargs: dict) -> list[tuple[tuple, Any]]:
    """(path, value) of every tensor, array, list and dict reachable from the arguments, outermost first."""
    found: list[tuple[tuple, Any]] = []
    pending: list[tuple[tuple, Any]] = [((index,), value) for index, value in enumerate(args)]
    pending += [((key,), value) for key, value in kwargs.items()]
    pending.reverse()
    while pending:
        path, value = pending.pop()
        if isinstance(value, (torch.Tensor, numpy.ndarray)) or _is_frame(value):
            found.append((path, value))
        elif isinstance(value, (list, tuple, dict)):
            if not isinstance(value, tuple):
                found.append((path, value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            pending += reversed([((*path, key), item) for key, item in items])
    return found


def _fingerprint(value: Any) -> tuple:
    """What must stay the same: a tensor's dtype, shape, device and bytes (NaNs included), a container's items."""
    if isinstance(value, torch.Tensor):
        plain = torch.Tensor.detach(value).resolve_conj().resolve_neg()
        raw = plain.reshape(-1).contiguous().cpu().view(torch.uint8).numpy()
        return ("tensor", str(plain.dtype), tuple(plain.shape), str(plain.device), _digest(raw))
    if isinstance(value, numpy.ndarray):
        return ("array", value.dtype.str, value.shape, _digest(value.tobytes()))
    if _is_frame(value):
        pandas = sys.modules["pandas"]
        try:
            rows = _digest(pandas.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        except Exception:  # cells pandas cannot hash (lists, say): columns, dtypes and shape must still stay
            rows = repr(value.shape).encode()
        return ("frame", tuple(map(str, value.columns)), tuple(map(str, value.dtypes)), rows)
    # The items themselves, compared by identity: kept referenced, so no new object can take an old one's id.
    return ("container", list(value.items()) if isinstance(value, dict) else list(value))


def _is_frame(value: Any) -> bool:
    """A pandas DataFrame (checked without importing pandas: a kernel that never imported it has none)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _digest(raw: Any) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


def _changed(value: Any, seen: tuple) -> bool:
    try:
        now = _fingerprint(value)
    except Exception:  # e.g. moved to a device it cannot be read from: it was readable before the call
        return True
    if seen[0] != "container":
        return now != seen
    before, after = seen[1], now[1]
    if isinstance(value, dict):
        return len(before) != len(after) or any(
            k is not k2 or v is not v2 for (k, v), (k2, v2) in zip(before, after, strict=True))
    return len(before) != len(after) or any(a is not b for a, b in zip(before, after, strict=True))
