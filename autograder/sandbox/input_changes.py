"""The grader's side of the input rule: the kernel's report of changed inputs, validated, and the verdict.

The kernel watches each call's arguments (`input_watch.InputWatch`) and reports
the paths of those the function changed in place. That report comes from the
student's process, so it is student-controlled data: `read_report` accepts only
paths that lead, through what the grader sent, to a tensor, array, list or dict
(the values that can change), at most `input_watch.MAX_CHANGES` of them, and
parameter names that are plain identifiers. Like the banned-operator check it is
a rule check made in the student's own process: a student who tampers with the
agent only hides their own bug.

By default a call may change none of its arguments (`InputRule`); a suite for a
function meant to update in place names the ones it may change
(``student.mutating("params")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy
import torch

from . import frames, wire
from .input_watch import MAX_CHANGES
from .messages import Execution, StudentCodeError

MAX_NAME_CHARS = 100
MAX_LABEL_CHARS = 200
# The report a call that raised sends: a few paths and one name per argument, far below this.
MAX_NOTE_BYTES = 2**20
# torch's refusal of an in-place operation on an input that a gradient call differentiates.
LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation"


class ReportError(ValueError):
    """The kernel's report of changed inputs is not one the grader can accept."""


@dataclass(frozen=True)
class InputRule:
    """What a call may do to its arguments: change those of ``may_change``, and whether they come back.

    ``may_change`` holds positions (0 for the first argument) and names: a name
    matches a keyword argument, or the positional parameter of that name in the
    student's function or in the reference's (``names``, by position).
    """

    may_change: tuple[int | str, ...] = ()
    names: tuple[str | None, ...] = ()
    return_inputs: bool = False

    def allows(self, change: Change) -> bool:
        names = {change.name} if type(change.root) is int else set()
        if type(change.root) is int and change.root < len(self.names):
            names.add(self.names[change.root])
        return any((type(allowed) is type(change.root) and allowed == change.root) or allowed in names
                   for allowed in self.may_change)


@dataclass(frozen=True)
class Change:
    """One changed input: its argument (position or keyword), how to call it, and its kind (for the advice)."""

    root: int | str
    label: str
    name: str | None
    kind: str  # "tensor" (or array), "frame" (a pandas DataFrame), "container" (a list, dict or module)


def read_report(report: Any, args: tuple, kwargs: dict) -> list[Change]:
    """The changes a kernel reported for a call with ``args`` and ``kwargs``; `ReportError` if malformed."""
    if type(report) is not dict or set(report) != {"changed", "names"}:
        raise ReportError("it is not a report of changed inputs")
    names, changed = report["names"], report["changed"]
    if type(names) is not list or len(names) != len(args) or not all(
            name is None or (type(name) is str and len(name) <= MAX_NAME_CHARS and name.isidentifier())
            for name in names):
        raise ReportError("its parameter names are not one plain name per argument sent")
    if type(changed) is not list or len(changed) > MAX_CHANGES:
        raise ReportError(f"its changed inputs are not a list of at most {MAX_CHANGES}")
    return [_change(path, args, kwargs, names) for path in changed]


def _change(path: Any, args: tuple, kwargs: dict, names: list) -> Change:
    if type(path) is not list or not 1 <= len(path) <= wire.MAX_DEPTH + 1:
        raise ReportError("a changed input is not a path to an argument")
    root = path[0]
    if type(root) is int and 0 <= root < len(args):
        value, name = args[root], names[root]
        label = name or f"argument {root + 1}"
    elif type(root) is str and root in kwargs:
        value, name, label = kwargs[root], None, root
    else:
        raise ReportError("a changed input names no argument that was sent")
    for step in path[1:]:
        if isinstance(value, torch.nn.Module):
            value = value.state_dict()  # sent as its state_dict, which the kernel sees as a dict
        if isinstance(value, (list, tuple)) and type(step) is int and 0 <= step < len(value):
            value, label = value[step], f"{label}[{step}]"
        elif isinstance(value, dict) and _plain(step) and _has_key(value, step):
            value, label = value[step], f"{label}[{step!r}]"
        else:
            raise ReportError("a changed input's path leads nowhere in what was sent")
    if isinstance(value, (torch.Tensor, numpy.ndarray)):
        kind = "tensor"
    elif frames.is_frame(value):
        kind = "frame"
    elif isinstance(value, (list, dict, torch.nn.Module)):
        kind = "container"
    else:
        raise ReportError("a changed input is a value that cannot change in place")
    return Change(root, label[:MAX_LABEL_CHARS], name, kind)


def _plain(key: Any, depth: int = 0) -> bool:
    """A dict key that can be hashed and compared safely: a scalar or a short tuple of them."""
    if key is None or type(key) in (str, int, float, bool):
        return True
    return type(key) is tuple and depth < 4 and all(_plain(item, depth + 1) for item in key)


def _has_key(mapping: dict, key: Any) -> bool:
    try:
        return key in mapping
    except Exception:  # a suite's own key that does not compare with this one
        return False


def describe(subject: str, changes: list[Change]) -> str:
    """``gd_step changed its argument `w` in place (...)``: what changed, how that happens and what to do."""
    shown = [f"`{change.label}`" for change in changes[:3]]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    if len(changes) > 3:
        listed = f"{', '.join(shown)} and {len(changes) - 3} more"
    first, several = changes[0].label, len(changes) > 1
    if changes[0].kind == "tensor":
        how = (f"e.g. `{first} -= ...`, `{first}[...] = ...` or `{first}.add_(...)`): return "
               f"{'new tensors' if several else 'a new tensor'}")
    elif changes[0].kind == "frame":
        how = (f"e.g. `{first}[...] = ...` or `{first}.drop(..., inplace=True)`): work on a copy "
               f"(`{first}.copy()`, `{first}.assign(...)`, `pd.get_dummies({first}, ...)`)")
    else:
        how = f"e.g. `{first}[...] = ...` or `{first}.append(...)`): build a new list or dict"
    return (f"{subject} changed its argument{'s' if several else ''} {listed} in place ({how} and leave the "
            "caller's inputs unchanged")


def check_inputs(name: str, decoded: dict, args: tuple, kwargs: dict, rule: InputRule) -> None:
    """Fail the call (`StudentCodeError`) if it changed an argument ``rule`` does not allow, or its report is bad."""
    try:
        changes = read_report(decoded.get("inputs"), args, kwargs)
    except ReportError as error:
        raise StudentCodeError(f"{name}: the grader could not read which inputs your function changed ({error}); "
                               "did your code change the grader's agent?") from None
    refused = [change for change in changes if not rule.allows(change)]
    if refused:
        raise StudentCodeError(describe(name, refused))
    if rule.return_inputs and (type(decoded.get("args")) is not tuple or len(decoded["args"]) != len(args)
                               or type(decoded.get("kwargs")) is not dict or set(decoded["kwargs"]) != set(kwargs)):
        raise StudentCodeError(f"{name}: your kernel sent back its inputs in a malformed way")


def note_on_error(execution: Execution, args: tuple, kwargs: dict, rule: InputRule) -> str:
    """What a call that raised had done to its inputs, for its message: "" when nothing (or nothing readable)."""
    if LEAF_IN_PLACE in execution.error:
        return (": it changed an input in place (e.g. `x -= ...` or `x.add_(...)`), which autograd refuses for an "
                "input it differentiates; compute new tensors and leave the caller's inputs unchanged")
    payloads = execution.payloads()
    if execution.payload_count != 1 or len(payloads) != 1:
        return ""
    try:
        sent = wire.decode(payloads[0], max_bytes=MAX_NOTE_BYTES)
        if type(sent) is not dict or sent.get("raised") is not True:
            return ""
        refused = [change for change in read_report(sent.get("inputs"), args, kwargs) if not rule.allows(change)]
    except (wire.WireError, ReportError):
        return ""  # the call failed anyway: a bad note only loses the note
    if not refused:
        return ""
    return f"; before raising, {describe('it', refused)}"
