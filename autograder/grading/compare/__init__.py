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
contents. Within a diagnosis block (`diagnosing`, used by `autograder.grading.mistakes`) a
failure's message starts with the known mistake the student's value reproduces, if any.
Stdlib, torch and numpy only: importable on its own.
"""

from __future__ import annotations

from .failures import ComparisonError, describe_inputs, tolerance_margin
from .scalars import assert_gradients_close, assert_scalar_close, relative_error
from .thresholds import (
    Measurement,
    assert_at_least,
    assert_at_most,
    assert_within_factor,
    recording_measurements,
)
from .values import assert_close

__all__ = [
    "ComparisonError",
    "Measurement",
    "assert_at_least",
    "assert_at_most",
    "assert_close",
    "assert_gradients_close",
    "assert_scalar_close",
    "assert_within_factor",
    "describe_inputs",
    "recording_measurements",
    "relative_error",
    "tolerance_margin",
]
