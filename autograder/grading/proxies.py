"""The ``student`` and ``reference`` fixtures: two implementations behind one interface.

``student.f(...)`` calls the student's ``f`` in their sandboxed kernel and
returns plain data; ``reference.f(...)`` calls the reference module's ``f`` on
copies of the inputs. Both watch the arguments: by default a call that changes
one of them in place fails, naming it (``gd_step changed its argument `w` in
place ...``), since a function that updates its caller's tensors is a bug that
the copy-per-call wire would otherwise hide. A function meant to update in
place is called through ``mutating(...)``, and `call_in_place` returns the
arguments as the call left them.

Through ``keep`` (``student.keep.build_mlp(2, 16, 1)``), what is not plain
data stays on its side and comes back as a `Handle` (see `handles`);
``data_loader(X, y, ...)`` builds a DataLoader on each side from the test's
tensors; ``torchvision_model(...)`` a torchvision ResNet (the course's
backbone, if asked), ``model_parameters`` and ``model_predictions`` read a
kept model as plain data through trusted code of the grader's agent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import torch

from ..sandbox import kept, wire
from ..sandbox.input_changes import InputRule, describe, read_report
from ..sandbox.input_watch import InputWatch, parameter_names
from ..sandbox.kernel import StudentCodeError, StudentKernel
from .compare import ComparisonError, describe_inputs
from .handles import Handle, HandleError, LocalHandles, kernel_handles
from .models import ReferenceModels, StudentModels
from .replay import verify_call

if TYPE_CHECKING:
    from .suite import GradOutputs


class InPlaceResult(NamedTuple):
    """What `StudentProxy.call_in_place` returns: the output, and the arguments as the call left them."""

    output: Any
    args: tuple
    kwargs: dict


def _loader_arguments(tensors: tuple, batch_size: Any, seed: Any) -> None:
    if not tensors or not all(type(t) is torch.Tensor for t in tensors) or any(t.dim() == 0 for t in tensors):
        raise HandleError("data_loader takes one or more tensors (X, y, ...) of one length each")
    if len({len(t) for t in tensors}) != 1:
        raise HandleError(f"data_loader's tensors differ in length: {[len(t) for t in tensors]}")
    if type(batch_size) is not int or batch_size < 1 or not (seed is None or type(seed) is int):
        raise HandleError("data_loader takes a batch_size of 1 or more and a seed that is an int (or None)")


def _holds_handle(value: Any) -> bool:
    """Whether a call's arguments hold a `Handle`: such a call's ban is the kernel's rule check only."""
    if isinstance(value, Handle):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_handle(item) for item in value)
    return isinstance(value, dict) and any(_holds_handle(item) for item in value.values())


def _label(handle: Handle, method: str | None) -> str:
    """How a call through ``handle`` is named in messages: ``the SpamFilter from train_spam_filter, its predict``."""
    return handle.description if method is None else f"{handle.description}, its {method}"


def _may_change(arguments: tuple) -> tuple[int | str, ...]:
    if not all(type(a) is str or (type(a) is int and a >= 0) for a in arguments):
        raise TypeError(f"mutating() takes argument positions (0 for the first) and names, not {arguments!r}")
    return arguments


class StudentProxy(StudentModels):
    """The student's notebook namespace, reached through the kernel: only plain data comes back."""

    def __init__(self, kernel: StudentKernel, banned_ops: tuple[str, ...] = (),
                 grad_outputs: GradOutputs | None = None, may_change: tuple[int | str, ...] = (),
                 keep: bool = False) -> None:
        self._kernel = kernel
        self._banned_ops = banned_ops
        self._grad_outputs = grad_outputs
        self._may_change = may_change
        self._keep = keep

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, args, kwargs)["output"]

    def _call(self, name: str, args: tuple, kwargs: dict, *, return_inputs: bool = False, **options: Any) -> dict:
        reference = self._grad_outputs.reference if self._grad_outputs is not None else None
        function = getattr(reference, name, None)
        names = tuple(parameter_names(function, len(args))) if callable(function) else ()
        rule = InputRule(self._may_change, names, return_inputs)
        result = self._send(name, args, kwargs, banned_ops=self._banned_ops, inputs=rule, **options)
        if self._banned_ops and not self._keep and not _holds_handle((args, kwargs)):
            self._verify_banned(name, result, args, kwargs, function, options)
        return result

    def _verify_banned(self, name: str, result: dict, args: tuple, kwargs: dict, function: Any, options: dict) -> None:
        """The ban's verdict, from the grader's replay of the call's trace (`replay.verify_call`)."""
        def reference(other_args: tuple, other_kwargs: dict) -> Any:
            return function(*copy.deepcopy(other_args), **copy.deepcopy(other_kwargs))

        def student(other_args: tuple, other_kwargs: dict) -> Any:
            return self._send(name, other_args, other_kwargs, banned_ops=self._banned_ops)["output"]

        verify_call(name, result, tuple(args), kwargs, self._banned_ops, wrt=tuple(options.get("wrt", ())),
                    grad_output=options.get("grad_output"), reference=reference if callable(function) else None,
                    student=student)

    def _send(self, label: str, args: tuple, kwargs: dict, *, keep: bool | None = None, target: Handle | None = None,
              method: str | None = None, read: bool = False, build: str | None = None, **options: Any) -> dict:
        """`StudentKernel.call` with handles: sent as ids, checked when they come back (`handles`)."""
        kernel = self._kernel
        table = kernel_handles(kernel)
        handles, prefix = table.request(kernel, self._keep if keep is None else keep)
        handles.update(target=None if target is None else table.ref(target, kernel), method=method, read=read,
                       build=build)
        args, kwargs = table.refs((tuple(args), kwargs), kernel)
        if any(handles.values()):  # a call without handles is a plain one (and any kernel stand-in takes it)
            options["handles"] = handles
        result = kernel.call(label, args, kwargs, **options)
        return table.receive(result, prefix, label, self)

    @property
    def keep(self) -> StudentProxy:
        """The same functions, but what is not plain data (a model, a predictor) stays in the kernel: a `Handle`."""
        return StudentProxy(self._kernel, self._banned_ops, self._grad_outputs, self._may_change, True)

    def data_loader(self, *tensors: torch.Tensor, batch_size: int = 1, shuffle: bool = False, seed: int | None = None,
                    drop_last: bool = False) -> Handle:
        """A `Handle` to a DataLoader over a TensorDataset of ``tensors``, built in the kernel by the grader's agent.

        With ``shuffle``, batches are drawn by a generator seeded with ``seed``, so the reference's
        loader (`ReferenceProxy.data_loader`) with the same seed gives the same batches.
        """
        _loader_arguments(tensors, batch_size, seed)
        options = {"batch_size": batch_size, "shuffle": bool(shuffle), "seed": seed, "drop_last": bool(drop_last)}
        return self._send("data_loader", tensors, options, keep=True, build="data_loader")["output"]

    def _handle_call(self, handle: Handle, method: str | None, args: tuple, kwargs: dict) -> Any:
        rule = InputRule(self._may_change)
        return self._send(_label(handle, method), args, kwargs, keep=True, target=handle, method=method,
                          banned_ops=self._banned_ops, inputs=rule)["output"]

    def _handle_read(self, handle: Handle, name: str) -> Any:
        return self._send(f"{handle.description}, its attribute {name}", (), {}, keep=False, target=handle,
                          method=name, read=True)["output"]

    def gradients(self, name: str, args: tuple, wrt: tuple[int, ...], grad_output: Any = None) -> tuple[Any, tuple]:
        """Run ``name(*args)`` with ``requires_grad`` on ``args[i]`` for i in wrt; return (output, grads).

        The grads are those of ``sum(output * grad_output)``. Without ``grad_output``, the test's secret
        random one (`GradOutputs`) for the shape of the reference's output, so the student's gradient
        and the reference's are taken with the same weights.
        """
        expected = None
        if grad_output is None and self._grad_outputs is not None:
            expected = self._expected_output(name, args)
            grad_output = self._grad_outputs.default_for(expected)
        try:
            result = self._call(name, args, {}, wrt=wrt, grad_output=grad_output)
        except StudentCodeError as error:
            if expected is not None and grad_output is not None and "Mismatch in shape" in str(error):
                self._raise_if_shape_differs(name, args, expected)
            raise
        return result["output"], result["grads"]

    def _expected_output(self, name: str, args: tuple) -> Any:
        """What the output will look like: the reference's, or (no reference function) the student's own."""
        function = getattr(self._grad_outputs.reference, name, None) if self._grad_outputs else None
        if callable(function):
            return function(*copy.deepcopy(args))
        return self._call(name, args, {})["output"]

    def _raise_if_shape_differs(self, name: str, args: tuple, expected: Any) -> None:
        """The default grad_output has the reference's shape: a student's output of another cannot take it."""
        got = self._call(name, args, {})["output"]
        if type(got) is torch.Tensor and type(expected) is torch.Tensor and got.shape != expected.shape:
            raise ComparisonError(f"{name}({describe_inputs(args)}) -> result: shape mismatch: expected "
                                  f"{list(expected.shape)}, got {list(got.shape)}; a gradient is checked only "
                                  "on an output of the expected shape.")

    def banning(self, *ops: str) -> StudentProxy:
        """The same functions, but a call fails when the student's code runs one of ``ops``, forward or backward.

        ``ops`` are aten operator names (``"aten::convolution"``), so the rule
        holds however the code reaches the operator: ``F.conv2d``, an alias
        taken at import time, ``nn.Conv2d``, ``torch.ops``. Use it where an
        exercise asks students to build something without the library's version.
        The kernel only names the operators (a quick, friendly refusal); on a
        plain call the verdict is the grader's replay of the call's trace
        (`replay.verify_call`), which nothing in the kernel can switch off.
        """
        return StudentProxy(self._kernel, (*self._banned_ops, *ops), self._grad_outputs, self._may_change, self._keep)

    def mutating(self, *arguments: int | str) -> StudentProxy:
        """The same functions, but these arguments may be changed in place (all others still may not).

        ``arguments`` are positions (0 for the first) or names: a keyword the
        test passes, or a parameter's name in the reference (or the student's)
        function. Nested values count as their argument's (``params[0]`` is
        ``params``). Use it for a function meant to update in place (an
        optimizer's step), with `call_in_place` to see what it did.
        """
        return StudentProxy(self._kernel, self._banned_ops, self._grad_outputs,
                            (*self._may_change, *_may_change(arguments)), self._keep)

    def call_in_place(self, name: str, *args: Any, **kwargs: Any) -> InPlaceResult:
        """Call ``name(*args, **kwargs)``; return its output and its arguments as the call left them.

        The suite's own ``args`` never change (each call gets a copy in the
        kernel): what the student's function did to them comes back here.
        """
        result = self._call(name, args, kwargs, return_inputs=True)
        return InPlaceResult(result["output"], result["args"], result["kwargs"])


class ReferenceProxy(ReferenceModels):
    """The reference module with the student's interface; inputs are copied so it cannot alter them.

    Its arguments are watched as the student's are, so a suite that forgets
    ``mutating(...)`` for a function meant to update in place fails loudly
    for the reference too, rather than for every student.
    """

    def __init__(self, module: ModuleType, grad_outputs: GradOutputs | None = None,
                 may_change: tuple[int | str, ...] = (), keep: bool = False,
                 handles: LocalHandles | None = None) -> None:
        self._module = module
        self._grad_outputs = grad_outputs
        self._may_change = may_change
        self._keep = keep
        self._handles = handles or LocalHandles()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        function = getattr(self._module, name)
        return lambda *args, **kwargs: self._output(name, self._invoke(name, function, args, kwargs)[0], self._keep)

    def _output(self, origin: str, result: dict, keep: bool) -> Any:
        """A call's output; through ``keep``, as the student's side would get it (plain copies and handles).

        Otherwise as the function returned it, but an object a handle stands for as that handle, as on
        the student's side.
        """
        if keep:
            return self._handles.localize(result["output"], origin, self, keep=True)
        return self._handles.rewrap(result["output"])

    def _derived(self, may_change: tuple[int | str, ...], keep: bool) -> ReferenceProxy:
        return ReferenceProxy(self._module, self._grad_outputs, may_change, keep, self._handles)

    @property
    def keep(self) -> ReferenceProxy:
        """As `StudentProxy.keep`: what is not plain data comes back as a `Handle` to the reference's object."""
        return self._derived(self._may_change, True)

    def data_loader(self, *tensors: torch.Tensor, batch_size: int = 1, shuffle: bool = False, seed: int | None = None,
                    drop_last: bool = False) -> Handle:
        """As `StudentProxy.data_loader`, in the grader: the same batches for the same seed."""
        _loader_arguments(tensors, batch_size, seed)
        loader = kept.make_data_loader(*(t.detach().clone() for t in tensors), batch_size=batch_size,
                                       shuffle=bool(shuffle), seed=seed, drop_last=bool(drop_last))
        return self._handles.wrap(loader, "data_loader", self)

    def _handle_call(self, handle: Handle, method: str | None, args: tuple, kwargs: dict) -> Any:
        self._handles.resolve(handle)  # HandleError for a handle of the student's
        function = handle._object if method is None else getattr(handle._object, method)
        label = _label(handle, method)
        return self._output(label, self._invoke(label, function, args, kwargs)[0], True)

    def _handle_read(self, handle: Handle, name: str) -> Any:
        self._handles.resolve(handle)
        label = f"{handle.description}, its attribute {name}"
        return self._handles.localize(getattr(handle._object, name), label, self, keep=False)

    def _invoke(self, name: str, function: Any, args: tuple, kwargs: dict, wrt: tuple[int, ...] = (),
                grad_output: Any = None) -> tuple[dict, tuple, dict]:
        """`wire.invoke` on copies of the inputs, watched; the result and the copies as the call left them."""
        (resolved, kwargs_resolved), memo = self._handles.resolve((args, kwargs))
        copies, kwarg_copies = copy.deepcopy(resolved, memo), copy.deepcopy(kwargs_resolved, memo)
        watch = InputWatch(function)
        result = wire.invoke(watch, copies, kwarg_copies, wrt, grad_output)
        rule = InputRule(self._may_change, tuple(parameter_names(function, len(args))))
        refused = [change for change in read_report(watch.report(), args, kwargs) if not rule.allows(change)]
        if refused:
            raise RuntimeError(f"the reference's {describe(name, refused)}. If it is meant to update in place, "
                               "call it through reference.mutating(...) and student.mutating(...) in the suite")
        return result, copies, kwarg_copies

    def gradients(self, name: str, args: tuple, wrt: tuple[int, ...], grad_output: Any = None) -> tuple[Any, tuple]:
        """As `StudentProxy.gradients`, with the reference; the default grad_output follows its output's shape."""
        function = getattr(self._module, name)
        given = grad_output is not None
        if not given and self._grad_outputs is not None:
            grad_output = self._grad_outputs.default_for(self._invoke(name, function, args, {})[0]["output"])
        result = self._invoke(name, function, args, {}, wrt, grad_output)[0]
        if self._grad_outputs is not None:
            self._grad_outputs.note_reference(name, wrt, given, result["grads"])
        return result["output"], result["grads"]

    def mutating(self, *arguments: int | str) -> ReferenceProxy:
        """As `StudentProxy.mutating`, for the reference."""
        return self._derived((*self._may_change, *_may_change(arguments)), self._keep)

    def call_in_place(self, name: str, *args: Any, **kwargs: Any) -> InPlaceResult:
        """As `StudentProxy.call_in_place`: the output, and the copies of the arguments as the call left them."""
        result, copies, kwarg_copies = self._invoke(name, getattr(self._module, name), args, kwargs)
        return InPlaceResult(self._output(name, result, self._keep), *self._handles.rewrap((copies, kwarg_copies)))
