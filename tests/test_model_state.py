"""A kept model's trained part read back as plain tensors and run in the grader's own module (``reference.twin``).

A threshold judged by the kernel's forward trusts code the student controls: a fine_tune that swaps the
model's forward for a look-up answers through the grader's own model object. Read back, the head and the
batch norms' statistics run in the grader's copy, whose forward is torchvision's.
"""

from __future__ import annotations

import types

import pytest
import torch

from autograder.grading.compare import ComparisonError
from autograder.grading.proxies import ReferenceProxy, StudentProxy
from autograder.sandbox import kept
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentCodeError, StudentKernel

LOOKUP = '''import torch

def train_then_swap_forward(model):
    with torch.no_grad():
        model.fc.weight.fill_(0.5)
        model.fc.bias.copy_(torch.tensor([0.0, 1.0, 2.0]))
    model.forward = lambda x: torch.eye(3)[torch.zeros(len(x), dtype=torch.long)]  # always class 0
    return model
'''
TRAINED = ("fc.",), ("running_mean", "running_var", "num_batches_tracked")


@pytest.mark.slow
def test_the_grader_runs_the_students_head_in_its_own_module():
    images = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    reference = ReferenceProxy(types.SimpleNamespace())
    with StudentKernel([LOOKUP], Limits(call_timeout_s=60, memory_mb=2048), require_isolation=False) as kernel:
        kernel.run_notebook()
        student = StudentProxy(kernel)
        model = student.torchvision_model("resnet18", 3, seed=1, freeze_backbone=True)
        student.keep.train_then_swap_forward(model)
        assert torch.equal(student.model_predictions(model, images, size=32), torch.zeros(6, dtype=torch.long))
        state = student.model_state(model, prefixes=TRAINED[0], suffixes=TRAINED[1])
        assert {"fc.weight", "fc.bias", "bn1.running_mean", "layer4.1.bn2.running_var"} <= set(state)
        assert not any(name.endswith(".weight") and not name.startswith("fc.") for name in state)
        with pytest.raises(StudentCodeError, match="ask for fewer"):
            student.model_state(model, prefixes=("",))
    twin = reference.twin(reference.torchvision_model("resnet18", 3, seed=1, freeze_backbone=True), state)
    expected = kept.make_torchvision_model("resnet18", 3, seed=1, freeze_backbone=True)
    expected.load_state_dict(state, strict=False)
    predicted = reference.model_predictions(twin, images, size=32)
    assert torch.equal(predicted, kept.predict_classes(expected, images, size=32))
    assert torch.equal(predicted, torch.full((6,), 2))  # the bias decides: 0.5 * the same sum for every class
    base = reference.torchvision_model("resnet18", 3, seed=1)
    for bad, why in (({"fc.weight": torch.zeros(2, 2)}, "do not fit"), ({"nope": torch.zeros(1)}, "do not fit"),
                     ({"fc.bias": [1.0, 2.0, 3.0]}, "dict of tensors")):
        with pytest.raises(ComparisonError, match=why):
            reference.twin(base, bad)
