"""Objects kept in the student's kernel: the agent that answers the grader's calls, and its table of handles.

Some results cannot cross the boundary as data: a model, a fitted predictor,
a DataLoader. A call made in keep mode leaves each such object in this
kernel's `Table` and sends back a `wire.HandleRef` (a random id and the
object's type name); a later call may pass the handle as an argument (the
agent puts the object in its place), call the object, call one of its
methods, or read an attribute as plain data. The grader names each call's
new ids (``keep``: a random prefix), so an id it never issued is a forgery
(see `grading.handles`); the table holds at most `MAX_HANDLES` objects and
drops those the grader no longer refers to (``release``). One kernel serves
one job, so the table never outlives it; a restarted kernel starts empty.

`agent` builds the function the grader's requests call (``__autograder__``).
Like `wire`, this module is self-contained (stdlib, torch) and its source is
sent into the kernel, where it runs in the student's process: code that
tampers with the table only breaks its own calls, and all that comes back is
still decoded, with its limits, by the grader.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

import torch

MAX_HANDLES = 1000
MAX_NAME_CHARS = 100
MAX_TYPE_CHARS = 256


def plain_name(name: Any) -> bool:
    """A method or attribute name a test may use: a plain public identifier (no ``_x``, no ``__x__``)."""
    return (type(name) is str and 0 < len(name) <= MAX_NAME_CHARS and name.isidentifier() and name.isascii()
            and not name.startswith("_") and not keyword.iskeyword(name))


def type_name(value: Any) -> str:
    """``module.QualName`` of ``value``'s real class (never ``__class__``, which an object may fake), bounded."""
    kind = type(value)
    name = f"{type.__dict__['__module__'].__get__(kind)}.{type.__dict__['__qualname__'].__get__(kind)}"
    return "".join(c for c in name if c.isprintable())[:MAX_TYPE_CHARS] or "object"


class Table:
    """The objects this kernel keeps for the grader, by handle id (and each object's id, by the object)."""

    def __init__(self, handle_ref: type) -> None:
        self.handle_ref = handle_ref
        self.objects: dict[str, tuple[Any, str]] = {}
        self.ids: dict[int, str] = {}

    def get(self, ref: Any) -> Any:
        if type(ref) is not self.handle_ref or ref.id not in self.objects:
            raise LookupError("an object the grader kept in your kernel is gone from its table (did your code "
                              "change the grader's agent?)")
        return self.objects[ref.id][0]

    def resolve(self, value: Any) -> Any:
        """``value`` with each handle replaced by its object; containers without handles are the same objects."""
        if type(value) is self.handle_ref:
            return self.get(value)
        if type(value) in (list, tuple):
            items = [self.resolve(item) for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if type(value) is list else tuple(items)
        if type(value) is dict:
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return value if all(resolved[key] is item for key, item in value.items()) else resolved
        return value

    def release(self, ids: Any) -> None:
        for handle_id in ids if type(ids) is list else ():
            kept = self.objects.pop(handle_id, None) if type(handle_id) is str else None
            if kept is not None:
                self.ids.pop(id(kept[0]), None)

    def keeper(self, prefix: str | None) -> Keeper:
        return Keeper(self, prefix)


class Keeper:
    """The ``keep`` of one result's encoding: known objects as their handles; new ones too with a ``prefix``.

    New objects wait in ``pending`` until `commit` (after the whole result encoded), so a result that
    fails to encode keeps nothing.
    """

    def __init__(self, table: Table, prefix: str | None) -> None:
        self.table = table
        self.prefix = prefix
        self.pending: dict[int, tuple[str, Any, str]] = {}

    def __call__(self, value: Any) -> Any:
        table = self.table
        known = table.ids.get(id(value))
        if known is not None and table.objects[known][0] is value:
            return table.handle_ref(known, table.objects[known][1])
        if self.prefix is None:
            return None
        if id(value) not in self.pending:
            if len(table.objects) + len(self.pending) >= MAX_HANDLES:
                raise RuntimeError(f"the grader keeps at most {MAX_HANDLES} objects of your kernel at a time")
            self.pending[id(value)] = (f"{self.prefix}.{len(self.pending)}", value, type_name(value))
        handle_id, _, name = self.pending[id(value)]
        return table.handle_ref(handle_id, name)

    def commit(self) -> None:
        for object_id, (handle_id, value, name) in self.pending.items():
            self.table.objects[handle_id] = (value, name)
            self.table.ids[object_id] = handle_id
        self.pending = {}


def make_data_loader(*tensors: torch.Tensor, batch_size: int = 1, shuffle: bool = False, seed: int | None = None,
                     drop_last: bool = False) -> Any:
    """A DataLoader over a TensorDataset of ``tensors``; shuffled by a generator seeded with ``seed`` (if given)."""
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle, generator=generator,
                      drop_last=drop_last)


RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
# The course's own pretrained weights (no download anywhere): name -> (architecture, file under the course data
# folder, its sha256). Built by data/fashion_backbone/build_backbone.py; see data/README.md.
COURSE_BACKBONES = {
    "fashion_resnet18": ("resnet18", "fashion_backbone/resnet18_fmnist04.pt",
                         "35f7ebd0415a67e782f645f79f5cd50ca7cb76edd7ab10e0840e3c1f5964c5e3"),
}


def course_backbone_state(name: str, data_dir: Any = None) -> dict:
    """The state dict of course backbone ``name``, read from ``data_dir`` (``~/data`` by default), checked."""
    import hashlib
    import io
    from pathlib import Path

    if name not in COURSE_BACKBONES:
        raise ValueError(f"no course backbone {name!r}: the course ships {sorted(COURSE_BACKBONES)}")
    _, relative, sha256 = COURSE_BACKBONES[name]
    path = (Path(data_dir) if data_dir is not None else Path.home() / "data") / relative
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError(f"{path} is not the course's backbone (its sha256 differs): the course data is damaged")
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    return {key: value.float() if value.is_floating_point() else value for key, value in state.items()}


def make_torchvision_model(arch: str, num_classes: int = 1000, backbone: str | None = None, seed: int | None = None,
                           freeze_backbone: bool = False, data_dir: Any = None, meta: bool = False) -> Any:
    """torchvision's ``arch`` (a ResNet; ``weights=None``, nothing downloaded) with an ``fc`` of ``num_classes``.

    Its starting weights are torchvision's initialisation drawn from ``seed`` (the caller's random state is left
    as it was), so both sides build the same model. With ``backbone`` (a `COURSE_BACKBONES` name), every weight
    but ``fc`` is the course's pretrained one; ``freeze_backbone`` leaves only ``fc`` trainable. With ``meta``,
    the model is built on PyTorch's meta device: names, shapes and ``requires_grad`` but no values, in no time
    (a ResNet-152's 60 million weights are not drawn), for tests of its structure only.
    """
    import torchvision

    if arch not in RESNETS:
        raise ValueError(f"torchvision_model builds one of {RESNETS}, not {str(arch)[:MAX_NAME_CHARS]!r}")
    if meta and backbone is not None:
        raise ValueError("a model on the meta device has no values: it cannot hold a course backbone")
    with torch.random.fork_rng(devices=[]), torch.device("meta" if meta else "cpu"):
        if seed is not None:
            torch.manual_seed(seed)
        model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    if backbone is not None:
        if backbone not in COURSE_BACKBONES:
            raise ValueError(f"no course backbone {str(backbone)[:MAX_NAME_CHARS]!r}: the course ships "
                             f"{sorted(COURSE_BACKBONES)}")
        if COURSE_BACKBONES[backbone][0] != arch:
            raise ValueError(f"course backbone {backbone!r} is not a {arch}")
        state = {k: v for k, v in course_backbone_state(backbone, data_dir).items() if not k.startswith("fc.")}
        missing = model.load_state_dict(state, strict=False).missing_keys
        if sorted(missing) != ["fc.bias", "fc.weight"]:
            raise ValueError(f"course backbone {backbone!r} left {missing} unloaded")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(not freeze_backbone or name.startswith("fc."))
    return model


def describe_parameters(model: Any) -> list:
    """A module's parameters as plain data: (name, shape, dtype, device type, requires_grad, sum, sum of squares).

    Read by trusted code in the kernel (no method of the student's is called), so a test can check what is
    trainable, where it lives, and whether it moved, without sending the weights themselves. A parameter on
    the meta device has no values: its sums are None.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got a {type_name(model)}")
    rows = []
    for name, parameter in torch.nn.Module.named_parameters(model):
        sums: tuple = (None, None)
        if not parameter.is_meta:
            data = parameter.detach().double()
            sums = (float(data.sum()), float((data * data).sum()))
        rows.append((str(name), list(parameter.shape), str(parameter.dtype), parameter.device.type,
                     bool(parameter.requires_grad), *sums))
    return rows


def predict_classes(model: Any, images: torch.Tensor, size: int | None = None, mean: Any = None, std: Any = None,
                    batch_size: int = 256) -> torch.Tensor:
    """``model``'s predicted class of each image, in eval mode without gradients, as an int64 CPU tensor.

    ``images`` are uint8 (n, h, w) greyscale or (n, c, h, w): scaled to [0, 1], resized to ``size`` x
    ``size`` (bilinear), greyscale repeated to 3 channels, normalised by ``mean``/``std`` per channel; then
    moved to the model's device. The mode the model was in is restored afterwards.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got a {type_name(model)}")
    device = next(torch.nn.Module.parameters(model)).device
    was_training, predictions = model.training, []
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = images[start:start + batch_size].float() / 255
                x = x.unsqueeze(1) if x.dim() == 3 else x
                if size is not None:
                    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
                x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x
                if mean is not None:
                    x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
                predictions.append(model(x.to(device)).argmax(dim=1).cpu())
    finally:
        model.train(was_training)
    return torch.cat(predictions)


MAX_STATE_ELEMENTS = 4_000_000  # what `state_tensors` sends at most: a head and normalisation buffers, not a backbone


def state_tensors(model: Any, prefixes: Any = (), suffixes: Any = ()) -> dict:
    """The entries of ``model``'s state_dict named with one of ``prefixes`` or ``suffixes``, as detached CPU copies.

    Read by trusted code in the kernel, so the grader can run the trained part of a model (a new head, the
    batch norms' running statistics) in a module of its own, whose forward no code of the student's touches.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got a {type_name(model)}")
    if not all(type(part) is str for part in (*prefixes, *suffixes)):
        raise TypeError("state_tensors takes names' prefixes and suffixes as strings")
    chosen = {str(name): tensor.detach().cpu().clone()
              for name, tensor in torch.nn.Module.state_dict(model).items()
              if isinstance(tensor, torch.Tensor) and (str(name).startswith(tuple(prefixes))
                                                      or str(name).endswith(tuple(suffixes)))}
    if sum(t.numel() for t in chosen.values()) > MAX_STATE_ELEMENTS:
        raise ValueError(f"these state entries hold over {MAX_STATE_ELEMENTS:,} numbers: ask for fewer")
    return chosen


BUILDERS: dict[str, Callable[..., Any]] = {"data_loader": make_data_loader, "torchvision_model": make_torchvision_model,
                                           "describe_parameters": describe_parameters,
                                           "predict_classes": predict_classes, "state_tensors": state_tensors}


def agent(codec: Any, watch: Any, namespace: Callable[[], dict], publish_data: Callable[[dict], Any]
          ) -> Callable[[str], None]:
    """The function a request calls in the kernel: decode it, run it, publish its result in the wire format."""
    table = Table(codec.HandleRef)

    def publish(value: Any, keeper: Keeper) -> None:
        publish_data({codec.MIME_TYPE: codec.encode(value, keeper)})
        keeper.commit()

    def target(request: dict) -> Any:
        if request["build"] is not None:
            return BUILDERS[request["build"]]
        if request["target"] is None:
            function = namespace().get(request["name"])
            if not callable(function):
                raise NameError(f"{request['name']} is not defined in your notebook: check that the cell "
                                "defining it runs without errors")
            return function
        kept = table.get(request["target"])
        method = request["method"]
        if method is None:
            return kept
        if not plain_name(method):
            raise ValueError(f"{str(method)[:MAX_NAME_CHARS]!r} is not a public method or attribute name")
        return getattr(kept, method)

    def call(request: str) -> None:
        request = codec.decode(request)
        table.release(request["release"])
        keeper = table.keeper(request["keep"])
        function = target(request)
        if request["read"]:
            publish({"output": function}, keeper)
            return
        args, kwargs = table.resolve(request["args"]), table.resolve(request["kwargs"])
        watched = watch.InputWatch(function) if request["watch_inputs"] else None
        try:
            result = codec.invoke(watched or function, tuple(args), kwargs, tuple(request["wrt"]),
                                  request["grad_output"], record_ops=request["record_ops"])
        except Exception:
            if watched is not None and watched.changed:
                publish({"raised": True, "inputs": watched.report()}, table.keeper(None))
            raise
        if watched is not None:
            result["inputs"] = watched.report()
            if request["return_inputs"]:  # as the call left them, kept objects as their handles
                result["args"], result["kwargs"] = tuple(args), kwargs
        publish(result, keeper)

    return call
