"""How a hidden test's call runs, on either side of the boundary: `invoke`, with gradients and a trace of operators.

The grader runs the reference through it, the kernel agent the student's code,
so both are called and differentiated the same way. Like `wire`, this module is
self-contained (stdlib, torch) and its source is sent into the student's kernel;
`wire.invoke` is this module's `invoke`.

For a banned-operator exercise the kernel also records the call's **trace**:
each aten operator the forward pass ran, with its arguments as references to
the call's inputs, to earlier operators' results, or to constants. The trace
is only a claim: the grader replays it on its own copy of the inputs (see
`grading.replay`) and believes nothing the student's process could have
switched off or forged.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

MAX_TRACE_OPS = 100_000  # operators recorded per call; a longer trace is cut and the grader refuses it
MAX_TRACE_CHARS = 32 * 2**20
MAX_DEPTH = 16  # nesting of an operator's arguments or a result that the trace follows (the wire's own limit)


def invoke(fn: Any, args: tuple, kwargs: dict, wrt: tuple = (), grad_output: Any = None, *,
           record_ops: bool = False) -> dict:
    """Call ``fn`` the way a hidden test asked, on either side of the boundary.

    With ``wrt`` (indices of positional arguments), those arguments get
    ``requires_grad`` and the result carries the gradients of
    ``sum(output * grad_output)`` with respect to them (None where no gradient
    flowed). The grader uses this for the reference, the kernel agent for the
    student, so both are differentiated the same way.

    With ``record_ops``, the result also carries ``ops``: the sorted names of
    the aten operators that ran, forward and backward (``aten::convolution``,
    ...), however the code reached them; and ``trace``: the forward pass as
    `Tracer` records it, for the grader to replay. Both are claims made in the
    student's process; the grader's verdict rests on the replay.
    """
    args = list(args)
    for index in wrt:
        args[index] = args[index].detach().clone().requires_grad_(True)
    tracer = Tracer(args, kwargs) if record_ops else None
    if tracer is None:
        output = fn(*args, **kwargs)
    else:
        with tracer:
            output = fn(*args, **kwargs)
    result: dict[str, Any] = {"output": output}
    if tracer is not None:
        result["trace"] = tracer.finish(output)
    if wrt:
        names = _OpNames() if record_ops else None
        if names is None:
            result["grads"] = _gradients(output, [args[i] for i in wrt], grad_output)
        else:
            with names:
                result["grads"] = _gradients(output, [args[i] for i in wrt], grad_output)
            tracer.ops |= names.ops
    if tracer is not None:
        result["ops"] = sorted(tracer.ops)
    return result


def _gradients(output: Any, inputs: list, grad_output: Any) -> tuple:
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"expected a Tensor to differentiate, got {type(output).__name__}")
    if not output.requires_grad:
        return tuple(None for _ in inputs)
    seed = torch.ones_like(output) if grad_output is None else grad_output.to(output.dtype)
    return tuple(torch.autograd.grad(output, inputs, grad_outputs=seed, allow_unused=True))


class _OpNames(TorchDispatchMode):
    """Names of the aten operators run while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Otherwise torch wraps __torch_dispatch__ in a dynamo guard whose first call imports torch._dynamo:
        # two seconds per kernel, for a mode that never compiles anything.
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        self.ops.add(func._schema.name)
        return func(*args, **(kwargs or {}))


class Tracer(_OpNames):
    """The forward pass as a list of aten operators over numbered tensors.

    Each tensor gets a number the first time it is seen: the call's inputs
    first (`inputs` mirrors the arguments, a tensor as ``{"t": n}``), then each
    operator's results. A tensor an operator takes that is neither (made
    where the recorder could not see it) is recorded by value as a constant.
    One JSON line per operator: ``[name, overload, args, kwargs, results]``.
    """

    def __init__(self, args: list, kwargs: dict) -> None:
        super().__init__()
        self.numbers: dict[int, int] = {}
        self.tensors: list[torch.Tensor] = []  # kept alive, so no new tensor can take a known one's id()
        self.constants: list[tuple[int, torch.Tensor]] = []
        self.lines: list[str] = []
        self.chars = 0
        self.truncated = False
        self.inputs = [self._encode(list(args), new=True), self._encode(dict(kwargs), new=True)]

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        self.ops.add(func._schema.name)
        kwargs = kwargs or {}
        if self.truncated:
            return func(*args, **kwargs)
        encoded = [func._schema.name, func._overloadname, self._encode(list(args)), self._encode(kwargs)]
        results = func(*args, **kwargs)
        line = json.dumps([*encoded, self._encode(results, new=True)], separators=(",", ":"))
        self.chars += len(line)
        if len(self.lines) >= MAX_TRACE_OPS or self.chars > MAX_TRACE_CHARS:
            self.truncated = True
        else:
            self.lines.append(line)
        return results

    def finish(self, output: Any) -> dict:
        """The trace as the wire carries it (call after the forward pass, outside the mode)."""
        encoded_output = self._encode(output)
        return {"inputs": self.inputs, "lines": "\n".join(self.lines), "output": encoded_output,
                "constants": [tensor for _, tensor in self.constants],
                "constant_numbers": [number for number, _ in self.constants], "truncated": self.truncated}

    def _number(self, tensor: torch.Tensor, new: bool) -> int:
        number = self.numbers.get(id(tensor))
        if number is not None and self.tensors[number] is tensor:
            return number
        number = len(self.tensors)
        self.numbers[id(tensor)] = number
        self.tensors.append(tensor)
        if not new:  # seen first as an operator's argument: made outside the recorder's sight
            self.constants.append((number, torch.Tensor.detach(tensor).clone()))
        return number

    def _encode(self, value: Any, new: bool = False, depth: int = 0) -> Any:
        if isinstance(value, torch.Tensor):
            return {"t": self._number(value, new)}
        if value is None or type(value) in (bool, int, float, str):
            return value
        if depth >= MAX_DEPTH:  # the wire refuses such a result anyway, with its own message
            return {"unsupported": "nesting"}
        if type(value) in (list, tuple):
            return [self._encode(item, new, depth + 1) for item in value]
        if type(value) is dict:
            return {"d": [[key, self._encode(item, new, depth + 1)] for key, item in value.items()
                          if type(key) is str]}
        for kind in (torch.dtype, torch.device, torch.layout, torch.memory_format):
            if isinstance(value, kind):
                return {kind.__name__: str(value)}
        return {"unsupported": type(value).__name__[:64]}
