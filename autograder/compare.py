"""Comparison helpers for hidden test suites: student results against the reference.

This module owns how a student's value is judged against the reference's and
how a failure reads. Every failure raises `ComparisonError` (an
``AssertionError``, so pytest reports it as an ordinary failed test) whose
message is modelled on ``torch.testing.assert_close``: the kind of mismatch
(type, shape, dtype, device, values, keys, length), and for values how many
elements are off, the greatest absolute and relative differences and where they
occur. Every message starts with the student's function and the shapes/dtypes
of its inputs (never their values), e.g.::

    mse_grad(X: float32[64, 3], w: float32[3]) -> result[0]: values are not close.
    Mismatched elements: 3 / 3 (100.0%)
    ...
    Hint: <an optional hint from the test>

Compared values are plain data: tensors, numpy arrays, Python numbers, strings,
None, lists/tuples and dicts of these, and ``torch.nn.Module`` (by state_dict).
The student's side is type-checked exactly (``type(x) is torch.Tensor``, never
``isinstance``), so an object that merely pretends to be a tensor or overrides
``__eq__``/``__array__`` is rejected; containers are read only through the
built-in ``list``/``tuple``/``dict`` methods, so a subclass cannot lie about its
contents. Stdlib, torch and numpy only: importable on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy
import torch

__all__ = [
    "ComparisonError",
    "assert_close",
    "assert_gradients_close",
    "assert_scalar_close",
    "assert_within_factor",
    "describe_inputs",
    "relative_error",
    "tolerance_margin",
]

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


def _raise(failure: _Failure, *, fn: str, inputs: Any, hint: str | None) -> NoReturn:
    summary = failure.summary if failure.summary.endswith((".", "?", "!")) else failure.summary + "."
    lines = [f"{fn}({describe_inputs(inputs)}) -> {failure.path}: {summary}", *failure.details]
    if hint:
        lines.append(f"Hint: {hint}")
    raise ComparisonError("\n".join(lines))


def _type_failure(path: str, expected_kind: str, actual: Any) -> _Failure:
    got = _type_name(actual)
    if type(actual) in (*_TENSOR_TYPES, numpy.ndarray):
        got += f" {_describe_value(actual)}"
    return _Failure(path, f"type mismatch: expected {expected_kind}, got {got}")


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
        _raise(failure, fn=fn, inputs=inputs, hint=hint)


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


# ----------------------------------------------------------------- gradients


def assert_gradients_close(
    actual_grads: Any,
    expected_grads: Any,
    *,
    fn: str,
    inputs: Any = (),
    wrt: Sequence[str] = (),
    rtol: float | None = None,
    atol: float | None = None,
    hint: str | None = None,
) -> None:
    """Check the gradients of the student's ``fn`` against the reference's.

    Both are sequences with one tensor (or None where no gradient flowed) per
    input in ``wrt``. None counts as an all-zero gradient: it only fails where
    the other side has a nonzero gradient.
    """
    expected_items = _sequence_items(expected_grads)
    if expected_items is None:  # a single gradient
        expected_items, actual_items = [expected_grads], [actual_grads]
    else:
        actual_items = _sequence_items(actual_grads)
    if actual_items is None:
        _raise(_type_failure("gradients", "a tuple of tensors", actual_grads), fn=fn, inputs=inputs, hint=hint)
    if len(actual_items) != len(expected_items):
        failure = _Failure(
            "gradients", f"length mismatch: expected {len(expected_items)} gradients, got {len(actual_items)}"
        )
        _raise(failure, fn=fn, inputs=inputs, hint=hint)
    options = _Options(rtol, atol, check_dtype=True, check_device=True, equal_nan=False)
    for index, (got, want) in enumerate(zip(actual_items, expected_items, strict=True)):
        name = wrt[index] if index < len(wrt) else f"argument {index}"
        path = f"gradient of {fn} w.r.t. {name}"
        if got is None and not _is_zero(want):
            failure = _Failure(path, f"no gradient reached {name}: was it detached or computed under no_grad?")
        elif want is None:
            failure = (
                None
                if _is_zero(got)
                else _Failure(path, f"a gradient reached {name}, but the reference's {fn} does not depend on {name}")
            )
        else:
            failure = None if got is None else _compare(got, want, path, options)
        if failure is not None:
            _raise(failure, fn=fn, inputs=inputs, hint=hint)


def _is_zero(value: Any) -> bool:
    """None, or a plain tensor holding only zeros."""
    return value is None or (type(value) in _TENSOR_TYPES and not bool(torch.Tensor.any(value)))


# ----------------------------------------------------------------- scalars


def relative_error(a: Any, b: Any, eps: float = 1e-12) -> torch.Tensor:
    """CS231n-style ``|a - b| / max(eps, |a| + |b|)``, elementwise in float64.

    ``a`` and ``b`` are tensors, numpy arrays or numbers of the same shape.
    """
    left, right = (_tensor_like(value)[1] for value in (a, b))
    if left is None or right is None:
        raise TypeError(f"relative_error compares tensors, arrays or numbers, not {_type_name(a)} and {_type_name(b)}")
    if left.shape != right.shape:
        raise ValueError(f"relative_error needs equal shapes, got {list(left.shape)} and {list(right.shape)}")
    left, right = left.cpu().to(torch.float64), right.cpu().to(torch.float64)
    return (left - right).abs() / (left.abs() + right.abs()).clamp(min=eps)


def assert_scalar_close(
    actual: Any,
    expected: Any,
    *,
    fn: str,
    inputs: Any = (),
    rtol: float = 1e-5,
    atol: float = 1e-8,
    what: str = "result",
    hint: str | None = None,
) -> None:
    """Check a scalar (an int, float or 0-d tensor on either side, e.g. a loss)."""
    got, want = _scalar(actual, what, fn=fn, inputs=inputs, hint=hint), _reference_scalar(expected)
    details = _value_mismatch(
        torch.tensor(got, dtype=torch.float64),
        torch.tensor(want, dtype=torch.float64),
        rtol=rtol * _MARGIN.get(),
        atol=atol * _MARGIN.get(),
        equal_nan=False,
    )
    if details is not None:
        _raise(_Failure(what, "values are not close", details), fn=fn, inputs=inputs, hint=hint)


def assert_within_factor(
    actual: Any,
    expected: Any,
    *,
    factor: float,
    fn: str,
    what: str,
    inputs: Any = (),
    hint: str | None = None,
) -> None:
    """Check ``actual <= factor * expected`` (plus a tiny atol), e.g. a final loss against the reference's.

    For a negative ``expected`` the allowance is ``(factor - 1) * |expected|`` above it.
    """
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    got, want = _scalar(actual, what, fn=fn, inputs=inputs, hint=hint), _reference_scalar(expected)
    factor = 1 + (factor - 1) * _MARGIN.get()
    limit = want + (factor - 1) * abs(want) + _FACTOR_ATOL
    if not got <= limit:  # also catches nan
        failure = _Failure(
            what, f"got {_num(got)}, more than {factor:g} x the reference's {_num(want)} (limit {_num(limit)})"
        )
        _raise(failure, fn=fn, inputs=inputs, hint=hint)


def _scalar(value: Any, what: str, *, fn: str, inputs: Any, hint: str | None) -> float:
    """The student's value as a float, or a ComparisonError saying why it is not a scalar."""
    kind, tensor = _tensor_like(value)
    if tensor is None or kind == "bool" or tensor.dtype == torch.bool or tensor.is_complex():
        _raise(_type_failure(what, "a real number (int, float or 0-d tensor)", value), fn=fn, inputs=inputs, hint=hint)
    if tensor.dim() != 0:
        failure = _Failure(what, f"shape mismatch: expected a scalar (0-d), got {kind} of shape {list(tensor.shape)}")
        _raise(failure, fn=fn, inputs=inputs, hint=hint)
    return float(tensor.item())


def _reference_scalar(value: Any) -> float:
    tensor = _tensor_like(value)[1]
    if tensor is None or tensor.dim() != 0 or tensor.is_complex():
        raise TypeError(f"the reference value must be a real scalar, got {_type_name(value)}")
    return float(tensor.item())
