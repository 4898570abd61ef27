"""How a comparison failure reads: the call, what mismatched and where; tolerances in force."""


from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy
import torch

# (rtol, atol) per dtype, as torch.testing.assert_close; other dtypes compare exactly.
_DEFAULT_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
    torch.complex32: (1e-3, 1e-5),
    torch.complex64: (1.3e-6, 1e-5),
    torch.complex128: (1e-7, 1e-7),
}
# Python numbers compare as 0-d tensors of these dtypes (as torch.testing does).
_NUMBER_DTYPES: dict[type, torch.dtype] = {
    bool: torch.bool,
    int: torch.int64,
    float: torch.float64,
    complex: torch.complex128,
}
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_FACTOR_ATOL = 1e-8
_MAX_NAME = 60
_MAX_STR = 40
# Share of a test's own tolerances in force (1.0 when grading). The course author's check grades the
# reference with less, so a threshold it only just meets fails there, not for an unlucky student.
_MARGIN: ContextVar[float] = ContextVar("tolerance_margin", default=1.0)


@contextlib.contextmanager
def tolerance_margin(share: float) -> Iterator[None]:
    """Within this block, tolerances a test states (rtol, atol, a factor's allowance) count ``share`` of their size.

    Defaults taken from a dtype are not thresholds and stay as they are.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    token = _MARGIN.set(share)
    try:
        yield
    finally:
        _MARGIN.reset(token)


# Who names a mistake when a comparison fails (`autograder.grading.mistakes` sets it for a block of a test):
# called with the student's value, the reference's, and ``passes(got, want)``, the failed comparison itself
# (same kind, tolerances and margin), it returns the line to put before the message, or None.
Diagnoser = Callable[[Any, Any, Callable[[Any, Any], bool]], str | None]
_DIAGNOSER: ContextVar[Diagnoser | None] = ContextVar("diagnoser", default=None)


@contextlib.contextmanager
def diagnosing(diagnoser: Diagnoser) -> Iterator[None]:
    """Within this block, a failed comparison asks ``diagnoser`` for a line naming the student's mistake."""
    token = _DIAGNOSER.set(diagnoser)
    try:
        yield
    finally:
        _DIAGNOSER.reset(token)


def _diagnosis(actual: Any, expected: Any, passes: Callable[[Any, Any], bool]) -> str | None:
    """The line the diagnoser in force gives for this failure; None without one, or when it fails itself."""
    diagnoser = _DIAGNOSER.get()
    if diagnoser is None:
        return None
    try:
        line = diagnoser(actual, expected, passes)
    except Exception:  # a broken catalogue must not cost the student the plain message
        return None
    return line if type(line) is str and line else None


class ComparisonError(AssertionError):
    """A student's value does not match the reference's."""


# ----------------------------------------------------------------- describing


def describe_inputs(inputs: Any) -> str:
    """Describe a call's inputs by shape and dtype, never by tensor contents.

    ``inputs`` is a tuple/list of positional arguments or a dict of
    name -> value (positional and keyword arguments together, by name), e.g.
    ``"X: float32[20, 3], w: float32[3], b: float32[], lr: 0.1"``.
    """
    if type(inputs) in (tuple, list):
        return ", ".join(_describe_value(value) for value in inputs)
    if isinstance(inputs, dict):
        return ", ".join(f"{_short(str(name))}: {_describe_value(value)}" for name, value in dict.items(inputs))
    return _describe_value(inputs)


def _describe_value(value: Any) -> str:
    kind = type(value)
    if kind in _TENSOR_TYPES:
        device = "" if value.device.type == "cpu" else f" on {value.device}"
        return f"{_dtype_name(value.dtype)}{list(value.shape)}{device}"
    if kind is numpy.ndarray:
        return f"np.{value.dtype}{list(value.shape)}"
    if value is None or kind in (bool, int):
        return _short(repr(value))
    if kind is float:
        return f"{value:.4g}"
    if _is_numpy_scalar(value):
        return f"np.{value.dtype}({value.item():.4g})"
    if kind is str:
        return repr(_short(value, _MAX_STR // 2))
    if kind in (list, tuple):
        return f"{kind.__name__}[{len(value)}]"
    if kind is dict:
        return f"dict[{_short(', '.join(repr(key) for key in dict.keys(value)), _MAX_STR)}]"
    return _type_name(value)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    kind = type(value)
    if kind in _TENSOR_TYPES:
        return "Tensor"
    if kind is numpy.ndarray:
        return "numpy.ndarray"
    name = _short(getattr(kind, "__qualname__", "?"), _MAX_NAME)
    if isinstance(value, torch.Tensor):
        return f"{name} (a subclass of torch.Tensor; only plain tensors are accepted)"
    if isinstance(value, numpy.ndarray):
        return f"{name} (a subclass of numpy.ndarray; only plain arrays are accepted)"
    return name


def _short(text: str, limit: int = _MAX_NAME) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_numpy_scalar(value: Any) -> bool:
    return isinstance(value, numpy.generic) and type(value).__module__ == "numpy"


# ----------------------------------------------------------------- failures


@dataclass
class _Failure:
    path: str
    summary: str
    details: tuple[str, ...] = ()


def _raise(failure: _Failure, *, fn: str, inputs: Any, hint: str | None, diagnosis: str | None = None) -> NoReturn:
    summary = failure.summary if failure.summary.endswith((".", "?", "!")) else failure.summary + "."
    lines = [f"{fn}({describe_inputs(inputs)}) -> {failure.path}: {summary}", *failure.details]
    if diagnosis:
        lines.insert(0, diagnosis)
    if hint:
        lines.append(f"Hint: {hint}")
    raise ComparisonError("\n".join(lines))


def _type_failure(path: str, expected_kind: str, actual: Any) -> _Failure:
    got = _type_name(actual)
    if type(actual) in (*_TENSOR_TYPES, numpy.ndarray):
        got += f" {_describe_value(actual)}"
    return _Failure(path, f"type mismatch: expected {expected_kind}, got {got}")


