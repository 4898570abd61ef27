"""Naming the mistake: a catalogue of the mistakes students make, and the diagnosis of a failed comparison.

This module owns the catalogue a hidden suite keeps beside its reference
(``assignments/<id>/hidden/mistakes.py``, never released, never mounted in a
kernel) and how a failure is matched against it. A `Mistake` is a small
trusted function that computes the wrong answer a known slip gives, from the
same inputs as the student's function, with the message for the student and
the notebook section that explains it::

    CATALOGUE = Catalogue()

    @CATALOGUE.mistake("mse_grad", section="3. The gradient",
                       message="your gradients are exactly half of the expected ones: is the factor 2 missing?")
    def half_gradient(X, y, w, b):
        ...

In the suite, a comparison made inside ``with MISTAKES.diagnose("mse_grad", X, y, w, b):`` that fails
runs each of ``mse_grad``'s mistakes on its own copy of the inputs and names one only when the student's
value passes the very comparison that failed (same kind, tolerances and margin) against that mistake's
value, the mistake's value does not pass it as the reference's (a mistake that gives the right answer on
these inputs says nothing), and every mistake that matches says the same. Otherwise the plain message
stands alone: the grader never names a mistake it cannot tell apart. The diagnosis is a first line,
``Likely mistake: ... (notebook section "...")``, before the plain message; it changes no score.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .compare.failures import diagnosing
from .handles import Handle


@dataclass(frozen=True)
class Mistake:
    """A known mistake: ``compute`` gives the wrong answer it leads to, from the function's own inputs."""

    name: str
    compute: Callable[..., Any]
    message: str
    section: str = ""

    def line(self) -> str:
        """The diagnosis as the student reads it, first line of the failure's message."""
        where = f' (notebook section "{self.section}")' if self.section else ""
        return f"Likely mistake: {self.message}{where}"


class Catalogue:
    """The known mistakes of an assignment's functions, by function name (as the student knows it)."""

    def __init__(self) -> None:
        self._mistakes: dict[str, list[Mistake]] = {}

    def add(self, fn: str, mistake: Mistake) -> Mistake:
        """Add ``mistake`` to ``fn``'s mistakes; a second mistake of the same name for ``fn`` is refused."""
        if type(mistake) is not Mistake or not callable(mistake.compute) or not mistake.message:
            raise TypeError(f"{fn}: a catalogue holds Mistake(name, compute, message, section) with a message")
        known = self._mistakes.setdefault(fn, [])
        if any(other.name == mistake.name for other in known):
            raise ValueError(f"{fn} already has a mistake named {mistake.name!r}")
        known.append(mistake)
        return mistake

    def mistake(self, fn: str, *, message: str,
                section: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: the function is a mistake of ``fn``, named after it; it stays callable as it was."""
        def register(compute: Callable[..., Any]) -> Callable[..., Any]:
            self.add(fn, Mistake(compute.__name__, compute, message, section))
            return compute
        return register

    def mistakes(self, fn: str) -> tuple[Mistake, ...]:
        """``fn``'s mistakes, in the order they were added (none for a function without any)."""
        return tuple(self._mistakes.get(fn, ()))

    def functions(self) -> tuple[str, ...]:
        """The functions that have mistakes."""
        return tuple(self._mistakes)

    def sections(self) -> set[str]:
        """Every notebook section a mistake points to (a test can check that the notebook has them)."""
        return {m.section for ms in self._mistakes.values() for m in ms if m.section}

    def diagnose(self, fn: str, /, *args: Any, **kwargs: Any) -> contextlib.AbstractContextManager[None]:
        """Within this block, a failed comparison of ``fn(*args, **kwargs)``'s result names a matching mistake.

        The mistakes' values are computed only when a comparison fails, each on its own copy of the
        inputs. ``args`` and ``kwargs`` are the suite's inputs (plain data, never a `Handle`).
        """
        inputs = _copy_inputs(fn, args, kwargs)
        return self._block(fn, lambda mistake: mistake.compute(*copy.deepcopy(inputs[0]), **copy.deepcopy(inputs[1])))

    def diagnose_gradients(self, fn: str, args: Sequence[Any], wrt: Sequence[int],
                           grad_output: Any = None) -> contextlib.AbstractContextManager[None]:
        """As `diagnose`, for a comparison of the gradients of ``fn(*args)`` w.r.t. ``args[i]`` for i in ``wrt``.

        A mistake's gradients are those of ``sum(output * grad_output)``, as `student.gradients` takes
        them. Without ``grad_output``, a mistake whose output has more than one element is not
        considered: the test's secret default weights (section 7 of the guide) are not known here;
        pass the test's own ``grad_output`` to diagnose such a gradient.
        """
        inputs, positions = _copy_inputs(fn, tuple(args), {})[0], tuple(wrt)
        if not all(type(i) is int and 0 <= i < len(inputs) for i in positions):
            raise ValueError(f"wrt must hold positions of args (0 to {len(inputs) - 1}), not {wrt!r}")
        weights = None if grad_output is None else _copy_inputs(fn, (grad_output,), {})[0][0]
        return self._block(fn, lambda mistake: _gradients(mistake.compute, inputs, positions, weights))

    @contextlib.contextmanager
    def _block(self, fn: str, evaluate: Callable[[Mistake], Any]) -> Iterator[None]:
        mistakes, values = self.mistakes(fn), {}

        def diagnoser(actual: Any, expected: Any, passes: Callable[[Any, Any], bool]) -> str | None:
            if not values:
                for mistake in mistakes:
                    values[mistake.name] = _attempt(lambda mistake=mistake: evaluate(mistake))
            return diagnosis(mistakes, values, actual, expected, passes)

        with diagnosing(diagnoser):
            yield


_FAILED = object()  # a mistake whose function raised: it matches nothing


def diagnosis(mistakes: Sequence[Mistake], values: dict[str, Any], actual: Any, expected: Any,
              passes: Callable[[Any, Any], bool]) -> str | None:
    """The line naming the one mistake the student's ``actual`` reproduces, or None.

    ``values`` holds each mistake's value by name; ``passes(got, want)`` is the comparison that
    failed. A mistake matches when ``passes(actual, its value)`` and not ``passes(its value,
    expected)``; a line comes back only when the mistakes that match all say the same.
    """
    lines = set()
    for mistake in mistakes:
        value = values.get(mistake.name, _FAILED)
        if value is _FAILED:
            continue
        if _attempt(lambda value=value: not passes(value, expected) and passes(actual, value)) is True:
            lines.add(mistake.line())
    return lines.pop() if len(lines) == 1 else None


def _attempt(work: Callable[[], Any]) -> Any:
    """``work()``, or `_FAILED` when it raises: a mistake that cannot be evaluated names nothing."""
    try:
        return work()
    except Exception:
        return _FAILED


def _gradients(compute: Callable[..., Any], args: tuple, wrt: tuple[int, ...], grad_output: Any) -> tuple:
    """The gradients of ``sum(compute(*args) * grad_output)`` w.r.t. ``args[i]``; None where none flowed."""
    inputs = list(copy.deepcopy(args))
    for i in wrt:
        inputs[i] = inputs[i].detach().clone().requires_grad_(True)
    output = compute(*inputs)
    if type(output) is not torch.Tensor:
        raise TypeError("a gradient mistake returns a tensor")
    if grad_output is None:
        if output.numel() > 1:
            raise ValueError("the default grad_output of a non-scalar output is the test's secret")
        grad_output = torch.ones_like(output)
    if not output.requires_grad:
        return tuple(None for _ in wrt)
    grads = torch.autograd.grad(output, [inputs[i] for i in wrt], grad_outputs=grad_output.to(output.dtype),
                                allow_unused=True)
    return tuple(None if g is None else g.detach() for g in grads)


def _copy_inputs(fn: str, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The suite's inputs, copied for the mistakes; a handle (an object of a kernel) is refused."""
    def check(value: Any) -> None:
        if isinstance(value, Handle):
            raise TypeError(f"diagnose({fn!r}, ...): mistakes take the suite's own inputs, not a Handle")
        if type(value) in (list, tuple):
            for item in value:
                check(item)
        elif type(value) is dict:
            for item in value.values():
                check(item)

    check(args)
    check(kwargs)
    return copy.deepcopy(tuple(args)), copy.deepcopy(dict(kwargs))


def load_catalogue(path: str | Path) -> Catalogue:
    """The ``CATALOGUE`` of the mistakes file at ``path`` (imported afresh, under a private name).

    A suite loads the file beside it: ``load_catalogue(Path(__file__).with_name("mistakes.py"))``.
    """
    path = Path(path).resolve()
    name = f"_autograder_mistakes_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"no mistakes file at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    catalogue = getattr(module, "CATALOGUE", None)
    if type(catalogue) is not Catalogue:
        raise TypeError(f"{path} must define CATALOGUE = Catalogue() (autograder.testing.Catalogue)")
    return catalogue
