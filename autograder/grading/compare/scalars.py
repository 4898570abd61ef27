"""Gradients, scalars and thresholds: losses, relative errors, a result within a factor of the reference."""


from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .failures import (
    _MARGIN,
    _TENSOR_TYPES,
    _diagnosis,
    _Failure,
    _raise,
    _type_failure,
    _type_name,
)
from .values import _compare, _Options, _sequence_items, _tensor_like, _value_mismatch

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
    options = _Options(rtol, atol, check_dtype=True, check_device=True, equal_nan=False)
    failure = _gradients_failure(actual_grads, expected_grads, fn, wrt, options)
    if failure is not None:
        def passes(got: Any, want: Any) -> bool:
            return _gradients_failure(got, want, fn, wrt, options) is None

        _raise(failure, fn=fn, inputs=inputs, hint=hint, diagnosis=_diagnosis(actual_grads, expected_grads, passes))


def _gradients_failure(actual_grads: Any, expected_grads: Any, fn: str, wrt: Sequence[str],
                       options: _Options) -> _Failure | None:
    """What is wrong with ``actual_grads`` against ``expected_grads``, or None when they are close."""
    expected_items = _sequence_items(expected_grads)
    if expected_items is None:  # a single gradient
        expected_items, actual_items = [expected_grads], [actual_grads]
    else:
        actual_items = _sequence_items(actual_grads)
    if actual_items is None:
        return _type_failure("gradients", "a tuple of tensors", actual_grads)
    if len(actual_items) != len(expected_items):
        return _Failure(
            "gradients", f"length mismatch: expected {len(expected_items)} gradients, got {len(actual_items)}"
        )
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
            return failure
    return None


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
    rtol, atol = rtol * _MARGIN.get(), atol * _MARGIN.get()

    def mismatch(left: float, right: float) -> tuple[str, ...] | None:
        return _value_mismatch(torch.tensor(left, dtype=torch.float64), torch.tensor(right, dtype=torch.float64),
                               rtol=rtol, atol=atol, equal_nan=False)

    details = mismatch(got, want)
    if details is not None:
        def passes(left: Any, right: Any) -> bool:
            return mismatch(_reference_scalar(left), _reference_scalar(right)) is None

        _raise(_Failure(what, "values are not close", details), fn=fn, inputs=inputs, hint=hint,
               diagnosis=_diagnosis(actual, expected, passes))


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
