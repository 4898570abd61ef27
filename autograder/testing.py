"""The suite author's API in one import, as ``torch.testing`` is for PyTorch.

A hidden suite needs only this module::

    from autograder.testing import assert_close, grade_cell, points

Fixtures (``student``, ``reference``, ``rng``) come from the grader's pytest
plugin and need no import. A call through ``student`` or ``reference`` fails
when the function changes one of its arguments in place, unless the suite
allows it: ``student.mutating("params").call_in_place("step_", params, grads)``
returns an `InPlaceResult` (the output, and the arguments as the call left
them). Through ``student.keep`` (and ``reference.keep``) what is not plain data
(a model, a fitted predictor) stays on its side as a `Handle`, which later
calls take as an argument, call, or call methods of; a handle used where it
does not belong raises `HandleError`. A `Catalogue` of known mistakes (`Mistake`), kept
beside the suite and read with `load_catalogue`, names the student's mistake
when a comparison made within ``catalogue.diagnose(...)`` fails. A threshold
test scores what the student's code trained and asserts it with `assert_at_least`
or `assert_at_most` against the reference's score and a stated margin; data files
are read with `read_verified` (checked against their sha256). See
``docs/suite-authoring.md``.
"""

from .course.data_files import read_verified
from .grading.compare import (
    ComparisonError,
    assert_at_least,
    assert_at_most,
    assert_close,
    assert_gradients_close,
    assert_scalar_close,
    assert_within_factor,
    describe_inputs,
    relative_error,
    tolerance_margin,
)
from .grading.handles import Handle, HandleError
from .grading.mistakes import Catalogue, Mistake, load_catalogue
from .grading.proxies import InPlaceResult
from .grading.suite import grade_cell, points

__all__ = [
    "Catalogue",
    "ComparisonError",
    "Handle",
    "HandleError",
    "InPlaceResult",
    "Mistake",
    "assert_at_least",
    "assert_at_most",
    "assert_close",
    "assert_gradients_close",
    "assert_scalar_close",
    "assert_within_factor",
    "describe_inputs",
    "grade_cell",
    "load_catalogue",
    "points",
    "read_verified",
    "relative_error",
    "tolerance_margin",
]
