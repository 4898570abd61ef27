"""The verdict on a banned-operator call, reached in the grader: the student's trace, replayed on the grader's inputs.

``student.banning(*ops).conv2d(x, w)`` must not take the kernel's word for
which operators ran: code in the kernel can switch a recorder off or forge
its report. So the kernel sends the call's forward pass as a trace (see
`sandbox.calling.Tracer`) and the grader accepts the result only when

1. every operator in the trace is on the replay allowlist (`replay_ops`) and
   not banned, and the trace is whole (not cut, no tensor it never made
   except constants it carries by value);
2. replayed here, with ``torch.ops.aten`` on the grader's own copy of the
   inputs, the trace gives the result the kernel returned (and, for a
   gradient call, the same gradients by autograd over the replayed graph);
3. where that result is right (close to the reference's on these inputs),
   the same trace replayed on *other* inputs of the same shapes, drawn in
   secret here, is right there too.

A result computed out of the recorder's sight enters the trace as a constant:
it replays to itself on the original inputs and stays stale on the others,
so step 3 fails it. A forged trace that passes all three is itself a way to
compute the function from allowed operators. Nothing from the student is run:
the trace is data, each operator is looked up by name on the allowlist.
Every replayed operator is sized before it runs (from its arguments' shapes where
`replay_ops.new_bytes` can tell, else on the meta device), so a trace cannot make the grader allocate more
than `MAX_RESULT_BYTES` at once.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..sandbox.kernel import StudentCodeError
from ..sandbox.messages import check_ops
from .replay_ops import DATA_DEPENDENT_OPS, allowed, new_bytes

MAX_OPS = 100_000
MAX_RESULT_BYTES = 256 * 2**20  # one operator's new memory
MAX_TOTAL_BYTES = 2 * 2**30  # all operators' new memory, freed or not
REPLAY_SECONDS = 30.0
_DTYPES = {str(getattr(torch, name)): getattr(torch, name) for name in (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")}
_MEMORY_FORMATS = {str(f): f for f in (torch.contiguous_format, torch.preserve_format, torch.channels_last)}
_HOW_TO_FIX = ("write it with tensor operations on its inputs (loops, unfold, as_strided, einsum, matmul, indexing), "
               "without values read out of tensors (.item(), .tolist(), numpy) and put back")


class TraceError(StudentCodeError):
    """The call's trace is missing, malformed, cut short, or does not replay to its result."""


@dataclass
class Trace:
    """A call's forward pass as the kernel claims it ran (parsed, not yet believed)."""

    lines: list[list]
    inputs: list
    output: Any
    constants: dict[int, torch.Tensor]


def read_trace(name: str, decoded: dict) -> Trace:
    """The trace of ``decoded`` (a kernel call's result), its form checked; `TraceError` if it has none."""
    raw = decoded.get("trace")
    fields = ("inputs", "lines", "output", "constants", "constant_numbers", "truncated")
    if type(raw) is not dict or any(key not in raw for key in fields) or type(raw["lines"]) is not str:
        raise TraceError(f"{name}: the grader got no record of the operations your code ran (did your code "
                         "change the grader's agent?); this exercise is graded on that record")
    if raw["truncated"] is not False:
        raise TraceError(f"{name} ran over {MAX_OPS:,} tensor operations on the grader's inputs, more than the "
                         "grader can replay: vectorize the inner loops (whole rows, patches or channels at once)")
    numbers, tensors = raw["constant_numbers"], raw["constants"]
    if type(numbers) is not list or type(tensors) is not list or len(numbers) != len(tensors) or not all(
            type(n) is int and type(t) is torch.Tensor for n, t in zip(numbers, tensors, strict=True)):
        raise TraceError(f"{name}: the record of the operations your code ran is malformed")
    text = raw["lines"]
    if text.count("\n") >= MAX_OPS:
        raise TraceError(f"{name}: the record of the operations your code ran is too long ({MAX_OPS:,} at most)")
    try:
        lines = [json.loads(line) for line in text.split("\n")] if text else []
    except (ValueError, RecursionError):
        raise TraceError(f"{name}: the record of the operations your code ran is malformed") from None
    return Trace(lines, raw["inputs"], raw["output"], dict(zip(numbers, tensors, strict=True)))


class Replay:
    """One run of a trace in the grader, on given inputs: `run` gives the output the trace computes there."""

    def __init__(self, name: str, trace: Trace, banned: tuple[str, ...]) -> None:
        self.name = name
        self.trace = trace
        self.banned = banned
        self.tensors: dict[int, torch.Tensor] = {}
        self.new_bytes = 0

    def run(self, args: list, kwargs: dict) -> Any:
        self.tensors = {n: t.clone() for n, t in self.trace.constants.items()}
        self._bind(self.trace.inputs, [args, kwargs])
        deadline = time.monotonic() + REPLAY_SECONDS
        for index, line in enumerate(self.trace.lines):
            self._step(index, line)
            if time.monotonic() > deadline:
                self._fail(f"replaying it took over {REPLAY_SECONDS:g} s")
        return self._decode(self.trace.output)

    def _fail(self, why: str) -> None:
        raise TraceError(f"{self.name}: the grader could not replay the operations your code ran: {why}. "
                         f"This exercise is graded on that replay: {_HOW_TO_FIX}")

    def _bind(self, encoded: Any, value: Any) -> None:
        """Number the grader's input tensors as the kernel numbered its own."""
        if type(encoded) is dict and set(encoded) == {"t"}:
            if type(value) is not torch.Tensor or type(encoded["t"]) is not int:
                self._fail("its inputs do not match the call's")
            self.tensors[encoded["t"]] = value
        elif type(encoded) is dict and set(encoded) == {"d"} and type(value) is dict:
            pairs = encoded["d"] if type(encoded["d"]) is list else []
            for pair in pairs:
                if type(pair) is not list or len(pair) != 2 or pair[0] not in value:
                    self._fail("its inputs do not match the call's")
                self._bind(pair[1], value[pair[0]])
        elif type(encoded) is list and type(value) in (list, tuple) and len(encoded) == len(value):
            for item, given in zip(encoded, value, strict=True):
                self._bind(item, given)

    def _step(self, index: int, line: Any) -> None:
        if type(line) is not list or len(line) != 5 or type(line[0]) is not str or type(line[1]) is not str:
            self._fail(f"operation {index} is malformed")
        name, overload, encoded_args, encoded_kwargs, results = line
        check_ops(self.name, {"ops": [name]}, self.banned)
        if not allowed(name) or not overload.isidentifier():
            self._fail(f"{name[:80]} is not an operator such exercises allow (plain tensor arithmetic, "
                       "reductions, products, views, indexing, unfold)")
        op = getattr(getattr(torch.ops.aten, name.removeprefix("aten::")), overload, None)
        if op is None:
            self._fail(f"{name[:80]} has no overload {overload[:40]!r}")
        args, kwargs = self._decode(encoded_args), self._decode(encoded_kwargs)
        if type(args) is not list or type(kwargs) is not dict:
            self._fail(f"operation {index} ({name}) is malformed")
        self._check_size(name, op, args, kwargs)
        try:
            value = op(*args, **kwargs)
        except Exception as exc:  # any failure of a replayed operator is the trace's
            self._fail(f"{name} failed here ({type(exc).__name__}: {str(exc)[:200]})")
        self._store(results, value)

    def _check_size(self, name: str, op: Any, args: list, kwargs: dict) -> None:
        """Size the operator first (by its arguments, else on the meta device): a trace must not make the grader
        allocate without bound."""
        fresh = new_bytes(name, args, kwargs)
        if fresh is None:
            fresh = self._meta_bytes(name, op, args, kwargs)
        self.new_bytes += fresh
        if fresh > MAX_RESULT_BYTES or self.new_bytes > MAX_TOTAL_BYTES:
            self._fail(f"{name} would allocate {fresh / 2**20:,.0f} MiB ({MAX_RESULT_BYTES // 2**20} MiB per "
                       f"operation, {MAX_TOTAL_BYTES // 2**30} GiB in all)")

    def _meta_bytes(self, name: str, op: Any, args: list, kwargs: dict) -> int:
        meta_kwargs = _to_meta(kwargs)
        if any(argument.name == "device" for argument in op._schema.arguments):  # a factory: made on meta too
            meta_kwargs.update(device=torch.device("meta"), pin_memory=None)
        try:
            meta = op(*_to_meta(args), **meta_kwargs)
        except Exception:  # a data-dependent operator has no meta kernel; its output is bounded
            if name.removesuffix("_") in DATA_DEPENDENT_OPS:
                return 0
            self._fail(f"{name} cannot be sized before it runs")
        return sum(t.numel() * t.element_size() for t in _tensors(meta) if not t._is_view())

    def _store(self, encoded: Any, value: Any) -> None:
        if type(encoded) is dict and set(encoded) == {"t"}:
            if type(value) is not torch.Tensor or type(encoded["t"]) is not int:
                self._fail("an operation's results do not match the record")
            self.tensors[encoded["t"]] = value
        elif type(encoded) is list and type(value) in (list, tuple) and len(encoded) == len(value):
            for item, given in zip(encoded, value, strict=True):
                self._store(item, given)

    def _decode(self, encoded: Any) -> Any:
        if encoded is None or type(encoded) in (bool, int, float, str):
            return encoded
        if type(encoded) is list:
            return [self._decode(item) for item in encoded]
        if type(encoded) is not dict or len(encoded) != 1:
            self._fail("an operation's arguments are malformed")
        (kind, value), = encoded.items()
        if kind == "t":
            tensor = self.tensors.get(value) if type(value) is int else None
            if tensor is None:
                self._fail("it uses a tensor that none of its operations made")
            return tensor
        if kind == "d" and type(value) is list:
            pairs = [p for p in value if type(p) is list and len(p) == 2 and type(p[0]) is str]
            return {key: self._decode(item) for key, item in pairs}
        known = {"dtype": _DTYPES, "memory_format": _MEMORY_FORMATS, "layout": {"torch.strided": torch.strided}}
        if kind in known and value in known[kind]:
            return known[kind][value]
        if kind == "device":
            return torch.device("cpu")  # the grader's copies live here, wherever the kernel ran
        self._fail(f"it passes a {str(value)[:40]} ({kind}) that the grader does not replay")
        return None


def _to_meta(value: Any) -> Any:
    if type(value) is torch.Tensor:
        # A view keeps its place in its storage, so as_strided and in-place operators size as they run.
        storage = torch.empty(value.untyped_storage().nbytes() // value.element_size(), dtype=value.dtype,
                              device="meta")
        return storage.as_strided(value.shape, value.stride(), value.storage_offset())
    if type(value) is list:
        return [_to_meta(item) for item in value]
    if type(value) is dict:
        return {key: _to_meta(item) for key, item in value.items()}
    return value


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def replay_close(got: Any, want: Any, scale_eps: float) -> bool:
    """Whether two results agree: same structure, tensors of one dtype and shape within ``scale_eps`` eps."""
    if isinstance(want, torch.Tensor) or isinstance(got, torch.Tensor):
        if type(got) is not torch.Tensor or type(want) is not torch.Tensor or got.dtype != want.dtype or (
                got.shape != want.shape):
            return False
        if not (got.is_floating_point() or got.is_complex()):
            return torch.equal(got, want)
        got, want = got.detach().double(), want.detach().double()
        scale = max(1.0, float(want.abs().nan_to_num(posinf=0, neginf=0).max()) if want.numel() else 1.0)
        tolerance = scale_eps * torch.finfo(got.dtype if got.dtype != torch.float64 else torch.float32).eps
        return bool(torch.isclose(got, want, rtol=tolerance, atol=tolerance * scale, equal_nan=True).all())
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(
            replay_close(g, w, scale_eps) for g, w in zip(got, want, strict=True))
    if isinstance(want, float) and isinstance(got, (int, float)):
        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9) or (math.isnan(got) and math.isnan(want))
    return got == want


def fresh_inputs(value: Any, generator: torch.Generator) -> Any:
    """``value`` with each floating tensor's elements shuffled and scaled by factors in [0.5, 1.5): new, secret inputs.

    Shuffling keeps what the inputs are made of (signs, zeros, integer values of an image); the
    scaling keeps a function of the values' multiset (a sum, a sort) from seeing the same thing twice.
    """
    if type(value) is torch.Tensor and value.is_floating_point() and value.numel():
        flat = value.detach().reshape(-1)
        order = torch.randperm(flat.numel(), generator=generator)
        factor = torch.rand(flat.numel(), generator=generator, dtype=torch.float64) + 0.5
        return (flat[order].double() * factor).to(value.dtype).reshape(value.shape).clone()
    if type(value) in (list, tuple):
        return type(value)(fresh_inputs(item, generator) for item in value)
    if type(value) is dict:
        return {key: fresh_inputs(item, generator) for key, item in value.items()}
    return value


Function = Callable[[tuple, dict], Any]


def verify_call(name: str, decoded: dict, args: tuple, kwargs: dict, banned: tuple[str, ...], *,
                wrt: tuple[int, ...] = (), grad_output: Any = None, reference: Function | None = None,
                student: Function | None = None) -> None:
    """Accept a banned-operator call's result only if the grader's replay of its trace bears it out (see above).

    ``reference(args, kwargs)`` computes the right result on other inputs (the reference function);
    without one, ``student(args, kwargs)`` (the student's function called again) is what the replay on
    the other inputs must give. Raises `TraceError` (a `StudentCodeError`) naming what failed.
    """
    right = reference is None or replay_close(decoded["output"], reference(args, kwargs), _CORRECT_EPS)
    if not right and not wrt:
        return  # a wrong value fails the test by itself, with the comparison's own message
    trace = read_trace(name, decoded)
    inputs = [a.detach().clone().requires_grad_(True) if i in wrt else _copy(a) for i, a in enumerate(args)]
    replayed = Replay(name, trace, banned).run(inputs, _copy(kwargs))
    if not replay_close(_detached(replayed), decoded["output"], _REPRODUCE_EPS):
        raise TraceError(f"{name}: replayed in the grader, the operations your code reported do not give the "
                         f"result it returned: {_HOW_TO_FIX}")
    if wrt:  # even under a wrong value: gradients that are right may not come from a banned backward
        _check_gradients(name, replayed, [inputs[i] for i in wrt], grad_output, decoded.get("grads"))
    if not right:
        return  # the other inputs would only repeat what the test's comparison finds
    other_args, other_kwargs = fresh_inputs((args, kwargs), torch.Generator().manual_seed(secrets.randbits(63)))
    expected = (reference or student)(other_args, other_kwargs)
    try:
        other = _detached(Replay(name, trace, banned).run(_copy(list(other_args)), _copy(other_kwargs)))
    except TraceError:
        other = None
    if not replay_close(other, expected, _CORRECT_EPS):
        raise TraceError(f"{name}: its result does not follow from the operations your code ran: replayed on "
                         f"other inputs of the same shapes, they do not compute {name} there, so part of the "
                         "result was computed where the grader cannot follow it (with the operator recorder "
                         f"switched off, say): {_HOW_TO_FIX}")


_REPRODUCE_EPS = 1024.0  # in float32 eps: a replay differs from the kernel's run by summation order at most
_CORRECT_EPS = 8192.0  # about 1e-3: "the right result", looser than any test's tolerance


def _check_gradients(name: str, output: Any, inputs: list, grad_output: Any, grads: Any) -> None:
    if type(output) is not torch.Tensor or type(grads) is not tuple or len(grads) != len(inputs):
        raise TraceError(f"{name}: the gradients your kernel returned do not match the call")
    if output.requires_grad:
        seed = torch.ones_like(output) if grad_output is None else grad_output.to(output.dtype)
        replayed = torch.autograd.grad(output, inputs, grad_outputs=seed, allow_unused=True)
    else:
        replayed = (None,) * len(inputs)
    for given, mine, tensor in zip(grads, replayed, inputs, strict=True):
        if given is None:  # no gradient flowed (a detached result): the test's own comparison says so
            continue
        mine = torch.zeros_like(tensor.detach()) if mine is None else mine
        if not replay_close(given, mine, _REPRODUCE_EPS):
            raise TraceError(f"{name}: the gradients your code returned are not those of the operations it ran "
                             "(a hand-written backward that differs from its forward pass, or a result computed "
                             f"where the grader cannot follow it): {_HOW_TO_FIX}")


def _copy(value: Any) -> Any:
    if type(value) is torch.Tensor:
        return value.detach().clone()
    if type(value) in (list, tuple):
        return type(value)(_copy(item) for item in value)
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    return value


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(item) for item in value)
    return value
