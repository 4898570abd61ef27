"""`assert_close`: tensors, arrays, numbers and containers of them, compared as torch.testing does."""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy
import torch

from .failures import (
    _DEFAULT_TOLERANCES,
    _MARGIN,
    _NUMBER_DTYPES,
    _TENSOR_TYPES,
    _diagnosis,
    _dtype_name,
    _Failure,
    _is_numpy_scalar,
    _raise,
    _short,
    _type_failure,
)

# ----------------------------------------------------------------- assert_close


@dataclass(frozen=True)
class _Options:
    rtol: float | None
    atol: float | None
    check_dtype: bool
    check_device: bool
    equal_nan: bool


def assert_close(
    actual: Any,
    expected: Any,
    *,
    fn: str,
    inputs: Any = (),
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: bool = True,
    check_device: bool = True,
    equal_nan: bool = False,
    hint: str | None = None,
    what: str = "result",
) -> None:
    """Check the student's ``actual`` against the reference's ``expected``.

    Tensors, numpy arrays and Python numbers are compared elementwise with
    ``|actual - expected| <= atol + rtol * |expected|``; a tolerance left as
    None takes torch.testing's default for the dtype. ``check_dtype`` also
    makes the kind strict: a numpy array or Python number where a Tensor is
    expected is a type mismatch; without it they are converted. Lists and
    tuples (interchangeable) and dicts are compared item by item, modules by
    state_dict, strings and None by equality. ``what`` names the value in the
    message; nested items extend it (``result[1]['w']``).
    """
    options = _Options(rtol, atol, check_dtype, check_device, equal_nan)
    failure = _compare(actual, expected, what, options)
    if failure is not None:
        def passes(got: Any, want: Any) -> bool:
            return _compare(got, want, what, options) is None

        _raise(failure, fn=fn, inputs=inputs, hint=hint, diagnosis=_diagnosis(actual, expected, passes))


def _compare(actual: Any, expected: Any, path: str, options: _Options) -> _Failure | None:
    if isinstance(expected, torch.nn.Module):
        state = torch.nn.Module.state_dict(expected)
        return _compare_mappings(actual, state, f"{path}.state_dict()", options, "a module or its state_dict")
    if isinstance(expected, dict):
        return _compare_mappings(actual, expected, path, options, "a dict")
    if isinstance(expected, (list, tuple)):
        return _compare_sequences(actual, expected, path, options)
    if expected is None or isinstance(expected, str):
        if type(actual) is type(expected) and actual == expected:
            return None
        if type(actual) is str and expected is not None:
            return _Failure(path, f"strings differ: expected {_short(repr(expected))}, got {_short(repr(actual))}")
        return _type_failure(path, "None" if expected is None else "a str", actual)
    expected_kind, expected_tensor = _tensor_like(expected)
    if expected_tensor is None:
        raise TypeError(f"assert_close cannot compare against a reference value of type {type(expected).__name__}")
    actual_kind, actual_tensor = _tensor_like(actual)
    if actual_tensor is None or (options.check_dtype and actual_kind != expected_kind):
        return _type_failure(path, _article(expected_kind), actual)
    return _compare_tensors(actual_tensor, expected_tensor, path, options)


def _compare_mappings(actual: Any, expected: dict, path: str, options: _Options, expected_kind: str) -> _Failure | None:
    if isinstance(actual, torch.nn.Module):
        actual = torch.nn.Module.state_dict(actual)
    elif not isinstance(actual, dict):
        return _type_failure(path, expected_kind, actual)
    actual_keys, expected_keys = list(dict.keys(actual)), list(dict.keys(expected))
    missing = [key for key in expected_keys if key not in actual_keys]
    unexpected = [key for key in actual_keys if key not in expected_keys]
    if missing or unexpected:
        details = []
        if missing:
            details.append(f"Missing keys: {_short(', '.join(map(repr, missing)), 200)}")
        if unexpected:
            details.append(f"Unexpected keys: {_short(', '.join(map(repr, unexpected)), 200)}")
        return _Failure(path, "keys do not match", tuple(details))
    for key in expected_keys:
        failure = _compare(dict.__getitem__(actual, key), dict.__getitem__(expected, key), f"{path}[{key!r}]", options)
        if failure is not None:
            return failure
    return None


def _compare_sequences(actual: Any, expected: Sequence, path: str, options: _Options) -> _Failure | None:
    actual_items = _sequence_items(actual)
    if actual_items is None:
        return _type_failure(path, f"a {type(expected).__name__}", actual)
    expected_items = _sequence_items(expected)
    if len(actual_items) != len(expected_items):
        return _Failure(path, f"length mismatch: expected {len(expected_items)} items, got {len(actual_items)}")
    for index, (got, want) in enumerate(zip(actual_items, expected_items, strict=True)):
        failure = _compare(got, want, f"{path}[{index}]", options)
        if failure is not None:
            return failure
    return None


def _sequence_items(value: Any) -> list | None:
    """The items of a list or tuple, read with the built-in methods only."""
    if isinstance(value, list):
        return list(list.__iter__(value))
    if isinstance(value, tuple):
        return list(tuple.__iter__(value))
    return None


def _tensor_like(value: Any) -> tuple[str, torch.Tensor | None]:
    """Classify a tensor, array or number by exact type and convert it to a tensor."""
    kind = type(value)
    if kind in _TENSOR_TYPES:
        return "Tensor", torch.Tensor.detach(value)
    if kind is numpy.ndarray:
        try:
            native = numpy.array(value, dtype=value.dtype.newbyteorder("="), copy=True)
            return "numpy.ndarray", torch.from_numpy(native)
        except (TypeError, ValueError):  # object, string or structured arrays
            return "numpy.ndarray", None
    if _is_numpy_scalar(value):
        value = value.item()
        kind = type(value)
    if kind in _NUMBER_DTYPES:
        try:
            return kind.__name__, torch.tensor(value, dtype=_NUMBER_DTYPES[kind])
        except (RuntimeError, ValueError):  # an int beyond int64
            return kind.__name__, torch.tensor(float(value), dtype=torch.float64)
    return kind.__name__, None


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _compare_tensors(actual: torch.Tensor, expected: torch.Tensor, path: str, options: _Options) -> _Failure | None:
    if actual.shape != expected.shape:
        return _Failure(path, f"shape mismatch: expected {list(expected.shape)}, got {list(actual.shape)}")
    if options.check_device and actual.device != expected.device:
        return _Failure(path, f"device mismatch: expected {expected.device}, got {actual.device}")
    if options.check_dtype and actual.dtype != expected.dtype:
        return _Failure(
            path, f"dtype mismatch: expected {_dtype_name(expected.dtype)}, got {_dtype_name(actual.dtype)}"
        )
    rtol, atol = _tolerances(actual.dtype, expected.dtype, options.rtol, options.atol)
    details = _value_mismatch(actual.cpu(), expected.cpu(), rtol=rtol, atol=atol, equal_nan=options.equal_nan)
    if details is None:
        return None
    return _Failure(path, "values are not equal" if rtol == atol == 0 else "values are not close", details)


def _tolerances(
    actual: torch.dtype, expected: torch.dtype, rtol: float | None, atol: float | None
) -> tuple[float, float]:
    """The tolerances given, else the larger of the two dtypes' defaults."""
    defaults = [_DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0)) for dtype in (actual, expected)]
    default_rtol, default_atol = max(pair[0] for pair in defaults), max(pair[1] for pair in defaults)
    share = _MARGIN.get()
    return (default_rtol if rtol is None else rtol * share), (default_atol if atol is None else atol * share)


# ----------------------------------------------------------------- values


def _value_mismatch(
    actual: torch.Tensor, expected: torch.Tensor, *, rtol: float, atol: float, equal_nan: bool
) -> tuple[str, ...] | None:
    """Lines describing where two same-shape CPU tensors differ, or None when they are close."""
    got, want = _widen(actual), _widen(expected)
    if got.dtype != want.dtype:
        common = torch.promote_types(got.dtype, want.dtype)
        got, want = got.to(common), want.to(common)
    if got.dtype == torch.int64 and rtol == atol == 0:
        close = got == want
    elif got.dtype == torch.int64:
        close = torch.isclose(got.double(), want.double(), rtol=rtol, atol=atol)
    else:
        close = torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bool(close.all()):
        return None
    shape, scalar = actual.shape, actual.dim() == 0
    got, want, mismatched = got.reshape(-1), want.reshape(-1), ~close.reshape(-1)
    first = int(mismatched.nonzero()[0])
    pair = _format_pair(expected.reshape(-1)[first].item(), actual.reshape(-1)[first].item())
    if scalar:
        lines = [f"Expected {pair}"]
    else:
        count, total = int(mismatched.sum()), mismatched.numel()
        lines = [f"Mismatched elements: {count} / {total} ({count / total:.1%})"]
    lines += _nonfinite_lines(got, want, shape, equal_nan)
    finite = mismatched & torch.isfinite(got) & torch.isfinite(want)
    if bool(finite.any()):
        abs_diff = torch.where(finite, (got - want).abs().double(), 0.0)
        rel_diff = torch.where(finite, abs_diff / want.abs().double(), 0.0)
        for name, diff, tol in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
            flat = int(diff.argmax())
            label = f"{name.title()} difference" if scalar else f"Greatest {name} difference"
            where = "" if scalar else f" at index {_index(flat, shape)}"
            allowed = f" (up to {tol:g} allowed)" if rtol != 0 or atol != 0 else ""
            lines.append(f"{label}: {_num(diff[flat].item())}{where}{allowed}")
    if not scalar:
        lines.append(f"First mismatch at index {_index(first, shape)}: expected {pair}")
    return tuple(lines)


def _widen(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor in a dtype wide enough to subtract exactly: complex128, float64 or int64."""
    if tensor.is_complex():
        return tensor.to(torch.complex128)
    if tensor.is_floating_point():
        return tensor.to(torch.float64)
    return tensor.to(torch.int64)


def _nonfinite_lines(got: torch.Tensor, want: torch.Tensor, shape: torch.Size, equal_nan: bool) -> list[str]:
    lines = []
    broken = ~torch.isfinite(got) & torch.isfinite(want)
    if bool(broken.any()):
        if len(shape) == 0:
            lines.append(f"Non-finite value: got {got.item()} where a finite value is expected")
        else:
            lines.append(
                f"Non-finite values: got nan or inf at {int(broken.sum())} element(s) where the expected values "
                f"are finite, first at index {_index(int(broken.nonzero()[0]), shape)}"
            )
    both_nan = got.isnan() & want.isnan()
    if not equal_nan and bool(both_nan.any()):
        lines.append(f"Both are nan at {int(both_nan.sum())} element(s); nan equals nan only with equal_nan=True")
    return lines


def _index(flat: int, shape: torch.Size) -> tuple[int, ...]:
    return tuple(int(i) for i in numpy.unravel_index(flat, tuple(shape)))


def _num(value: float | complex) -> str:
    return f"{value:.6g}"


def _format_pair(expected: Any, actual: Any) -> str:
    """'E, got A' with one digit more than it takes for the two to read differently."""
    if type(expected) in (bool, int) and type(actual) in (bool, int):
        return f"{expected!r}, got {actual!r}"
    digits = next((d for d in range(4, 17) if f"{expected:.{d}g}" != f"{actual:.{d}g}"), 16) + 1
    return f"{expected:.{digits}g}, got {actual:.{digits}g}"


