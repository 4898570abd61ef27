"""The suite author's API in one import, as ``torch.testing`` is for PyTorch.

A hidden suite needs only this module::

    from autograder.testing import assert_close, grade_cell, points

Fixtures (``student``, ``reference``, ``rng``) come from the grader's pytest
plugin and need no import. See ``docs/suite-authoring.md``.
"""

from .grading.compare import (
    ComparisonError,
    assert_close,
    assert_gradients_close,
    assert_scalar_close,
    assert_within_factor,
    describe_inputs,
    relative_error,
    tolerance_margin,
)
from .grading.suite import grade_cell, points

__all__ = [
    "ComparisonError",
    "assert_close",
    "assert_gradients_close",
    "assert_scalar_close",
    "assert_within_factor",
    "describe_inputs",
    "grade_cell",
    "points",
    "relative_error",
    "tolerance_margin",
]
