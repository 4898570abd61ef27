"""Threshold assertions: a score the student's code reached against the one it must reach, with a stated margin.

A threshold test trains or fits something on both sides and compares a score computed by the grader
(an accuracy, an R², a loss ratio): ``assert_at_least(got, want, margin, ...)`` passes when
``got >= want - margin``, ``assert_at_most`` when ``got <= want + margin``, ``assert_within_factor``
when ``got <= factor * want``. ``want`` is usually the
reference's own result on the same secret data, ``margin`` the allowance the suite states and justifies.
Inside `tolerance_margin` the allowance shrinks like every other stated tolerance.

Every call is also recorded as a `Measurement` while `recording_measurements` is active (the suite
plugin records each test's): the author's check reports, per threshold and over its secret seeds, the
reference's worst and median result and how much of the margin was left.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .failures import _FACTOR_ATOL, _MARGIN, _Failure, _raise
from .scalars import _reference_scalar, _scalar
from .values import _num


@dataclass(frozen=True)
class Measurement:
    """One threshold comparison: what was scored, the student's and the required result, the stated margin."""

    what: str
    got: float
    want: float
    margin: float
    higher_is_better: bool

    @property
    def room(self) -> float:
        """How far ``got`` lies inside the bound at the full margin (negative: it failed even there; nan: no score)."""
        return (self.got - (self.want - self.margin) if self.higher_is_better
                else (self.want + self.margin) - self.got)


_RECORDED: ContextVar[list[Measurement] | None] = ContextVar("recorded_measurements", default=None)


@contextlib.contextmanager
def recording_measurements() -> Iterator[list[Measurement]]:
    """Within this block every threshold assertion appends its `Measurement` to the list it yields."""
    recorded: list[Measurement] = []
    token = _RECORDED.set(recorded)
    try:
        yield recorded
    finally:
        _RECORDED.reset(token)


def assert_at_least(got: Any, want: Any, margin: float, *, fn: str, what: str, inputs: Any = (),
                    hint: str | None = None) -> None:
    """Check ``got >= want - margin``: e.g. the student's test accuracy against the reference's minus 0.05."""
    _assert_threshold(got, want, margin, higher_is_better=True, fn=fn, what=what, inputs=inputs, hint=hint)


def assert_at_most(got: Any, want: Any, margin: float, *, fn: str, what: str, inputs: Any = (),
                   hint: str | None = None) -> None:
    """Check ``got <= want + margin``: e.g. the student's test error against the reference's plus 10 %."""
    _assert_threshold(got, want, margin, higher_is_better=False, fn=fn, what=what, inputs=inputs, hint=hint)


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

    For a negative ``expected`` the allowance is ``(factor - 1) * |expected|`` above it. Recorded as an
    `assert_at_most` with that allowance as its margin.
    """
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    got, want = _scalar(actual, what, fn=fn, inputs=inputs, hint=hint), _reference_scalar(expected)
    recorded = _RECORDED.get()
    if recorded is not None:
        recorded.append(Measurement(what, got, want, (factor - 1) * abs(want) + _FACTOR_ATOL, False))
    factor = 1 + (factor - 1) * _MARGIN.get()
    limit = want + (factor - 1) * abs(want) + _FACTOR_ATOL
    if not got <= limit:  # also catches nan
        failure = _Failure(
            what, f"got {_num(got)}, more than {factor:g} x the reference's {_num(want)} (limit {_num(limit)})"
        )
        _raise(failure, fn=fn, inputs=inputs, hint=hint)


def _assert_threshold(got: Any, want: Any, margin: float, *, higher_is_better: bool, fn: str, what: str,
                      inputs: Any, hint: str | None) -> None:
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"a threshold's margin must be a finite number >= 0, got {margin!r}")
    required = _reference_scalar(want)
    score = _scalar(got, what, fn=fn, inputs=inputs, hint=hint)
    recorded = _RECORDED.get()
    if recorded is not None:
        recorded.append(Measurement(what, score, required, float(margin), higher_is_better))
    allowed = margin * _MARGIN.get()
    bound = required - allowed if higher_is_better else required + allowed
    if not (score >= bound if higher_is_better else score <= bound):  # also catches nan
        side, sign = ("at least", "minus") if higher_is_better else ("at most", "plus")
        _raise(_Failure(what, f"got {_num(score)}, needs {side} {_num(bound)} "
                              f"({_num(required)} {sign} the allowed {_num(allowed)})"),
               fn=fn, inputs=inputs, hint=hint)
