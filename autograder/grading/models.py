"""Torchvision models in a test: built on either side, and read back as plain data by trusted code.

`StudentModels` and `ReferenceModels` are the model methods of the ``student`` and ``reference`` proxies
(`proxies`): ``torchvision_model`` builds a ResNet (the course's backbone too) in the kernel or in the
grader; ``model_parameters``, ``model_predictions`` and ``model_state`` read a kept model through the
grader's agent (`sandbox.kept`), never through a method of the student's; ``reference.twin`` loads what
was read of a student's model into the grader's own copy, so its predictions owe nothing to the kernel.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from ..course.data_files import read_verified
from ..sandbox import kept
from .compare import ComparisonError
from .handles import Handle, HandleError

# The course data folder on the grader's side (the kernel reads the same files at ~/data).
COURSE_DATA = Path(__file__).resolve().parents[2] / "data"


def _model_arguments(arch: Any, num_classes: Any, backbone: Any, seed: Any, meta: bool) -> None:
    if arch not in kept.RESNETS:
        raise HandleError(f"torchvision_model builds one of {', '.join(kept.RESNETS)}, not {arch!r}")
    if type(num_classes) is not int or num_classes < 1 or not (seed is None or type(seed) is int):
        raise HandleError("torchvision_model takes num_classes, an int of 1 or more, and a seed that is an int "
                          "(or None)")
    if backbone is not None and kept.COURSE_BACKBONES.get(backbone, ("",))[0] != arch:
        raise HandleError(f"{backbone!r} is not a course backbone for {arch}: the course ships "
                          f"{ {name: spec[0] for name, spec in kept.COURSE_BACKBONES.items()} }")
    if meta and backbone is not None:
        raise HandleError("a model on the meta device has no values: build the course backbone without meta")


class StudentModels:
    """The model methods of `proxies.StudentProxy` (which supplies ``_send``)."""

    def torchvision_model(self, arch: str, num_classes: int = 1000, *, backbone: str | None = None,
                          seed: int | None = None, freeze_backbone: bool = False, meta: bool = False) -> Handle:
        """A `Handle` to torchvision's ``arch`` (resnet18 ... resnet152, nothing downloaded), built in the kernel.

        Its weights are torchvision's initialisation drawn from ``seed``, so `ReferenceProxy.torchvision_model`
        with the same arguments builds the same model; with ``backbone`` (``"fashion_resnet18"``) every weight
        but ``fc`` is the course's pretrained one, read from ``~/data`` and checked; ``freeze_backbone`` leaves
        only ``fc`` trainable; ``meta`` builds it on the meta device, shapes without values, for structure tests
        (see `kept.make_torchvision_model`).
        """
        _model_arguments(arch, num_classes, backbone, seed, meta)
        options = {"num_classes": num_classes, "backbone": backbone, "seed": seed,
                   "freeze_backbone": bool(freeze_backbone), "meta": bool(meta)}
        return self._send(f"torchvision_model({arch!r})", (arch,), options, keep=True,
                          build="torchvision_model")["output"]

    def model_parameters(self, model: Handle) -> list[tuple]:
        """The kept module's parameters as plain data, read by the grader's agent: (name, shape, dtype, device
        type, requires_grad, sum, sum of squares) each (see `kept.describe_parameters`)."""
        return self._send("the model's parameters", (model,), {}, keep=False, build="describe_parameters")["output"]

    def model_predictions(self, model: Handle, images: torch.Tensor, *, size: int | None = None,
                          mean: tuple | None = None, std: tuple | None = None) -> torch.Tensor:
        """The kept model's predicted classes (int64) for uint8 ``images``, prepared and run by the grader's agent
        in eval mode without gradients (see `kept.predict_classes`); labels never enter the kernel."""
        options = {"size": size, "mean": mean, "std": std}
        return self._send("the model's predictions", (model, images), options, keep=False,
                          build="predict_classes")["output"]

    def model_state(self, model: Handle, *, prefixes: tuple = (), suffixes: tuple = ()) -> dict:
        """Entries of the kept model's state_dict named with one of ``prefixes`` or ``suffixes`` (a trained head,
        batch-norm statistics), as plain tensors read by the grader's agent (see `kept.state_tensors`)."""
        return self._send("the model's state", (model,), {"prefixes": list(prefixes), "suffixes": list(suffixes)},
                          keep=False, build="state_tensors")["output"]


class ReferenceModels:
    """The model methods of `proxies.ReferenceProxy` (which supplies ``_handles``)."""

    def torchvision_model(self, arch: str, num_classes: int = 1000, *, backbone: str | None = None,
                          seed: int | None = None, freeze_backbone: bool = False, meta: bool = False,
                          data_dir: Path | None = None) -> Handle:
        """As `StudentProxy.torchvision_model`, in the grader; the backbone is read from ``data_dir`` (default: the
        course's data folder), checked."""
        data_dir = COURSE_DATA if data_dir is None else Path(data_dir)
        _model_arguments(arch, num_classes, backbone, seed, meta)
        if backbone is not None:  # the course's error (which file, how to rebuild it) before the model's
            _, relative, sha256 = kept.COURSE_BACKBONES[backbone]
            read_verified(Path(data_dir) / relative, sha256)
        model = kept.make_torchvision_model(arch, num_classes, backbone, seed, bool(freeze_backbone), data_dir,
                                            bool(meta))
        return self._handles.wrap(model, f"torchvision_model({arch!r})", self)

    def model_parameters(self, model: Handle) -> list[tuple]:
        """As `StudentProxy.model_parameters`, for a model of the reference's."""
        return kept.describe_parameters(self._handles.resolve(model)[0])

    def model_predictions(self, model: Handle, images: torch.Tensor, *, size: int | None = None,
                          mean: tuple | None = None, std: tuple | None = None) -> torch.Tensor:
        """As `StudentProxy.model_predictions`, for a model of the reference's."""
        return kept.predict_classes(self._handles.resolve(model)[0], images.clone(), size, mean, std)

    def model_state(self, model: Handle, *, prefixes: tuple = (), suffixes: tuple = ()) -> dict:
        """As `StudentProxy.model_state`, for a model of the reference's."""
        return kept.state_tensors(self._handles.resolve(model)[0], prefixes, suffixes)

    def twin(self, model: Handle, state: Any) -> Handle:
        """A copy of the reference's kept ``model`` with ``state`` loaded over it (entries of a state_dict, e.g.
        what `StudentProxy.model_state` read of the student's trained model): the student's weights run in the
        grader's own module, so what it computes owes nothing to code in the student's kernel."""
        original = self._handles.resolve(model)[0]
        if type(state) is not dict or not all(type(k) is str and type(v) is torch.Tensor for k, v in state.items()):
            raise ComparisonError("the model's state did not come back as a dict of tensors")
        copied = copy.deepcopy(original)
        expected = torch.nn.Module.state_dict(copied)
        wrong = [k for k, v in state.items() if k not in expected or expected[k].shape != v.shape
                 or expected[k].dtype != v.dtype]
        if wrong:
            raise ComparisonError(f"the model's state entries {', '.join(wrong[:5])} do not fit the expected model "
                                  "(unknown names, other shapes or dtypes)")
        copied.load_state_dict(state, strict=False)
        return self._handles.wrap(copied, f"a twin of {model.description}", self)
