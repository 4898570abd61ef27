"""How a hidden test's call runs, on either side of the boundary: `invoke`, with gradients and recorded operators.

The grader runs the reference through it, the kernel agent the student's code,
so both are called and differentiated the same way. Like `wire`, this module is
self-contained (stdlib, torch) and its source is sent into the student's kernel;
`wire.invoke` is this module's `invoke`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode


def invoke(fn: Any, args: tuple, kwargs: dict, wrt: tuple = (), grad_output: Any = None, *,
           record_ops: bool = False) -> dict:
    """Call ``fn`` the way a hidden test asked, on either side of the boundary.

    With ``wrt`` (indices of positional arguments), those arguments get
    ``requires_grad`` and the result carries the gradients of
    ``sum(output * grad_output)`` with respect to them (None where no gradient
    flowed). The grader uses this for the reference, the kernel agent for the
    student, so both are differentiated the same way.

    With ``record_ops``, the call (and its backward pass) runs under a
    ``TorchDispatchMode`` and the result carries ``ops``: the sorted names of
    the aten operators that ran (``aten::convolution``, ...), however the code
    reached them (an alias captured at import time, a module, ``torch.ops``).
    The grader decides what is banned. In the student's kernel this is a rule
    check, not a proof: code that tampers with the mode can hide from it.
    """
    if record_ops:
        recorder = _OpRecorder()
        with recorder:
            result = invoke(fn, args, kwargs, wrt, grad_output)
        result["ops"] = sorted(recorder.ops)
        return result
    args = list(args)
    for index in wrt:
        args[index] = args[index].detach().clone().requires_grad_(True)
    output = fn(*args, **kwargs)
    if not wrt:
        return {"output": output}
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"expected a Tensor to differentiate, got {type(output).__name__}")
    seed = torch.ones_like(output) if grad_output is None else grad_output.to(output.dtype)
    inputs = [args[i] for i in wrt]
    if not output.requires_grad:
        return {"output": output, "grads": tuple(None for _ in inputs)}
    grads = torch.autograd.grad(output, inputs, grad_outputs=seed, allow_unused=True)
    return {"output": output, "grads": tuple(grads)}


class _OpRecorder(TorchDispatchMode):
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
