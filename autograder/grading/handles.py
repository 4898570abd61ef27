"""Handles: a hidden test's hold on an object that lives on one side (the student's kernel, or the reference).

A training-graded function takes or returns what cannot cross the wire as
data: a model, a DataLoader, a fitted predictor. Called through ``keep``
(``student.keep.build_mlp(2, 16, 1)``), such a result stays where it was made
and the test gets a `Handle`: passed back as an argument it stands for the
object (``student.train_classifier(model, X, y, ...)``), called it calls it
(``predictor(frame)``), ``handle.predict(texts)`` calls a method and
``handle.attribute("training")`` reads an attribute; only plain data comes
back (what does not is kept again, as a new handle). ``reference.keep``
gives handles to the reference's real objects with the same interface, so one
test body reads the same for both.

This module owns the checks. A student's handle is valid only for the kernel
and job that issued it, and only while that kernel lives: after a restart it
fails with "the Sequential from build_mlp was lost when your kernel
restarted". What comes back from the kernel is hostile data: a handle id the
grader did not issue for that very call (`KernelHandles.receive`), or one
whose type changed, fails the call. A student's handle never reaches the
reference, nor a reference's the student. Method and attribute names are
plain public identifiers (`kept.plain_name`). Handles the test drops are
released in the kernel with its next call.
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

import numpy
import torch

from ..sandbox import frames, kept, wire
from ..sandbox.kernel import StudentCodeError, StudentKernel

MAX_HANDLES = kept.MAX_HANDLES


class HandleError(TypeError):
    """A handle used where it does not belong: the other side, another job, a name that is not a plain one."""


class Handle:
    """An object kept where its side's code runs; what its calls return is plain data or another handle.

    ``type_name`` is the object's class (``torch.nn.modules.container.Sequential``), ``origin`` the call
    that made it (``build_mlp``). Calls through a handle are made in keep mode and under the rules of
    the proxy that made it (its banned operators; arguments watched for changes in place).
    """

    __slots__ = ("__weakref__", "_generation", "_id", "_object", "_owner", "_table", "origin", "type_name")

    def __init__(self, owner: Any, table: Any, handle_id: str, type_name: str, origin: str, generation: int = 0,
                 value: Any = None) -> None:
        self._owner, self._table, self._id, self._generation, self._object = owner, table, handle_id, generation, value
        self.type_name, self.origin = type_name, origin

    @property
    def description(self) -> str:
        """``the Sequential from build_mlp``: how messages name it."""
        return f"the {self.type_name.rsplit('.', 1)[-1]} from {self.origin}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._owner._handle_call(self, None, args, kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the object's method ``method`` (a plain public name) with ``args``; what it returns."""
        method = _checked(method)  # before anything is sent
        return self._owner._handle_call(self, method, args, kwargs)

    def attribute(self, name: str) -> Any:
        """The object's attribute ``name`` (a plain public name), as plain data (a module as its state_dict)."""
        name = _checked(name)
        return self._owner._handle_read(self, name)

    def __getattr__(self, name: str) -> Any:
        if not kept.plain_name(name):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def __copy__(self) -> Handle:
        return self  # a handle names one object: copies of a test's inputs share it

    def __deepcopy__(self, memo: dict) -> Handle:
        return self

    def __reduce__(self) -> Any:
        raise HandleError(f"{self.description} cannot be pickled: it lives in its side's process")

    def __repr__(self) -> str:
        return f"<handle to {self.description}>"


def _checked(name: Any) -> str:
    if not kept.plain_name(name):
        raise HandleError(f"{str(name)[:100]!r} is not a plain public method or attribute name (no _private or "
                          "__dunder__ names)")
    return name


def _replace(value: Any, swap: Any) -> Any:
    """``value`` with ``swap(leaf)`` for each leaf that ``swap`` changes, through plain lists, tuples and dicts."""
    if type(value) in (list, tuple):
        items = [_replace(item, swap) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if type(value) is list else tuple(items)
    if type(value) is dict or type(value) is wire.ModuleState:
        items = {key: _replace(item, swap) for key, item in value.items()}
        if all(items[key] is item for key, item in value.items()):
            return value
        return items if type(value) is dict else wire.ModuleState(value.type_name, items)
    return swap(value)


# ----------------------------------------------------------------- the student's kernel


_TABLES: weakref.WeakKeyDictionary[StudentKernel, KernelHandles] = weakref.WeakKeyDictionary()


def _generation(kernel: StudentKernel) -> int:
    return getattr(kernel, "generation", 0)  # a stand-in for a kernel (in tests) never restarts


def kernel_handles(kernel: StudentKernel) -> KernelHandles:
    """The grader's record of the handles issued by ``kernel`` (one per kernel, so one per job)."""
    table = _TABLES.get(kernel)
    if table is None:
        table = _TABLES[kernel] = KernelHandles(_generation(kernel))
    return table


class KernelHandles:
    """The ids one kernel was asked to keep objects under, their types, and those to release."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.types: dict[str, str] = {}
        self.live: dict[str, weakref.ref[Handle]] = {}
        self.released: list[str] = []
        self.restart_note = ""

    def request(self, kernel: StudentKernel, keep: bool) -> tuple[dict, str | None]:
        """The handle fields of a call's request, and the prefix its new handle ids must have (None: none)."""
        self._sync(kernel)
        release, self.released = self.released, []
        for handle_id in release:
            self.types.pop(handle_id, None)
            self.live.pop(handle_id, None)
        prefix = secrets.token_hex(8) if keep else None
        return {"keep": prefix, "release": release}, prefix

    def _sync(self, kernel: StudentKernel) -> None:
        if _generation(kernel) != self.generation:  # a new kernel: it keeps nothing of the old one
            self.generation, self.types, self.live, self.released = _generation(kernel), {}, {}, []
            self.restart_note = f" ({kernel.events[-1]})" if kernel.events else ""

    def ref(self, handle: Handle, kernel: StudentKernel) -> wire.HandleRef:
        """What is sent for ``handle``; `HandleError` if it is not this kernel's, `StudentCodeError` if lost."""
        if handle._table is not self:
            side = "the reference" if isinstance(handle._table, LocalHandles) else "another student's kernel"
            raise HandleError(f"{handle.description} belongs to {side}: a student's call takes only handles that "
                              "student's kernel issued (student.keep...)")
        if handle._generation != _generation(kernel):
            raise StudentCodeError(f"{handle.description} was lost when your kernel restarted{self.restart_note}: "
                                   "an earlier call crashed or timed out, and a new kernel holds none of the "
                                   "objects of the old one")
        return wire.HandleRef(handle._id, handle.type_name)

    def refs(self, value: Any, kernel: StudentKernel) -> Any:
        """``value`` (a call's arguments) with each handle replaced by what is sent for it."""
        return _replace(value, lambda leaf: self.ref(leaf, kernel) if isinstance(leaf, Handle) else leaf)

    def receive(self, result: dict, prefix: str | None, origin: str, owner: Any) -> dict:
        """A decoded result with each `wire.HandleRef` a `Handle`; `StudentCodeError` for one not issued.

        A handle may be one this kernel holds already (same type), or, in keep mode, new: ``prefix.N``
        with the prefix the grader chose for this call. Any other id is a forgery.
        """
        def swap(leaf: Any) -> Any:
            return self._handle(leaf, prefix, origin, owner) if type(leaf) is wire.HandleRef else leaf

        return {key: _replace(value, swap) if key in ("output", "args", "kwargs") else value
                for key, value in result.items()}

    def _handle(self, ref: wire.HandleRef, prefix: str | None, origin: str, owner: Any) -> Handle:
        known = self.types.get(ref.id)
        if known is not None:
            if known != ref.type_name:
                raise StudentCodeError(f"{origin}: your kernel sent back a handle whose type changed (did your "
                                       "code change the grader's agent?)")
            alive = self.live[ref.id]()
            if alive is not None:
                return alive
            if ref.id in self.released:
                self.released.remove(ref.id)  # dropped by the test, but back: the kernel must keep it
        else:
            number = ref.id[len(prefix) + 1:] if prefix is not None and ref.id.startswith(prefix + ".") else ""
            if not (number.isascii() and number.isdigit() and len(number) <= 4 and int(number) < MAX_HANDLES):
                raise StudentCodeError(f"{origin}: your kernel sent back a handle the grader never issued (a "
                                       "forged or stale object id; did your code change the grader's agent?)")
            if len(self.types) >= MAX_HANDLES:
                raise StudentCodeError(f"{origin}: the grader keeps at most {MAX_HANDLES} objects of your kernel")
            self.types[ref.id] = ref.type_name
        handle = Handle(owner, self, ref.id, ref.type_name, origin, self.generation)
        self.live[ref.id] = weakref.ref(handle)
        weakref.finalize(handle, self._drop, ref.id, self.generation)
        return handle

    def _drop(self, handle_id: str, generation: int) -> None:
        if generation == self.generation and handle_id in self.types:
            self.released.append(handle_id)


# ----------------------------------------------------------------- the reference, in the grader


class LocalHandles:
    """Handles to the reference's real objects (one table per reference fixture): the same interface."""

    def __init__(self) -> None:
        self.handles: weakref.WeakValueDictionary[int, Handle] = weakref.WeakValueDictionary()

    def wrap(self, value: Any, origin: str, owner: Any) -> Handle:
        """The handle to ``value`` (the same handle for the same object while the test holds it)."""
        handle = self.handles.get(id(value))
        if handle is None or handle._object is not value:
            handle = Handle(owner, self, f"local.{id(value)}", kept.type_name(value), origin, value=value)
            self.handles[id(value)] = handle
        return handle

    def resolve(self, value: Any) -> tuple[Any, dict]:
        """``value`` with each handle replaced by its object, and a deepcopy memo that leaves those uncopied."""
        memo: dict = {}

        def swap(leaf: Any) -> Any:
            if not isinstance(leaf, Handle):
                return leaf
            if leaf._table is not self:
                side = "the student's kernel" if isinstance(leaf._table, KernelHandles) else "another reference"
                raise HandleError(f"{leaf.description} lives in {side}: the reference takes only its own handles "
                                  "(reference.keep...)")
            memo[id(leaf._object)] = leaf._object
            return leaf._object

        resolved = _replace(value, swap)
        memo[id(memo)] = list(memo.values())  # deepcopy's keep-alive list, as it would make it
        return resolved, memo

    def rewrap(self, value: Any) -> Any:
        """``value`` with each object that a handle of this table stands for as that handle."""
        def swap(leaf: Any) -> Any:
            handle = self.handles.get(id(leaf))
            return handle if handle is not None and handle._object is leaf else leaf

        return _replace(value, swap)

    def localize(self, value: Any, origin: str, owner: Any, *, keep: bool, depth: int = 0) -> Any:
        """What the student's side would get for ``value``: plain data copied, the rest as handles (``keep``)."""
        if depth > wire.MAX_DEPTH:
            raise HandleError(f"{origin}: the result is nested deeper than {wire.MAX_DEPTH} levels")
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, numpy.generic):
            return value.item()
        if isinstance(value, torch.Tensor):
            return torch.Tensor.detach(value).clone()
        if isinstance(value, numpy.ndarray):
            return numpy.array(value)
        if isinstance(value, (list, tuple)):
            items = [self.localize(item, origin, owner, keep=keep, depth=depth + 1) for item in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            return {key: self.localize(item, origin, owner, keep=keep, depth=depth + 1) for key, item in value.items()}
        if frames.is_frame(value):
            return value.copy()
        known = self.handles.get(id(value))
        if keep or (known is not None and known._object is value):
            return self.wrap(value, origin, owner)
        if isinstance(value, torch.nn.Module):
            state = {key: tensor.detach().clone() for key, tensor in value.state_dict().items()}
            return wire.ModuleState(type(value).__name__, state)
        raise HandleError(f"{origin}: a {kept.type_name(value)} is not plain data")
