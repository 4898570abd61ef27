"""Models built by the grader's agent: torchvision ResNets (the course's backbone too) and the trusted probes that
read a kept model as plain data (its parameters, its predictions)."""

from __future__ import annotations

import shutil
import types

import pytest
import torch

from autograder.course.data_files import CourseError
from autograder.grading.handles import HandleError
from autograder.grading.models import COURSE_DATA
from autograder.grading.proxies import ReferenceProxy, StudentProxy
from autograder.sandbox import kept
from autograder.sandbox.confine import Limits
from autograder.sandbox.kernel import StudentKernel

FC_IN = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048, "resnet152": 2048}


def reference() -> ReferenceProxy:
    return ReferenceProxy(types.SimpleNamespace())


@pytest.mark.parametrize("arch", kept.RESNETS)
def test_each_resnet_is_built_with_its_own_head_and_nothing_downloaded(arch):
    model = kept.make_torchvision_model(arch, 7, seed=3, freeze_backbone=True)
    assert (model.fc.in_features, model.fc.out_features) == (FC_IN[arch], 7)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]


def test_a_meta_model_has_the_structure_without_values():
    model = kept.make_torchvision_model("resnet152", 9, seed=1, freeze_backbone=True, meta=True)
    assert model.fc.weight.is_meta and tuple(model.fc.weight.shape) == (9, 2048)
    rows = kept.describe_parameters(model)
    assert rows[-2] == ("fc.weight", [9, 2048], "torch.float32", "meta", True, None, None)
    with pytest.raises(ValueError, match="no values"):
        kept.make_torchvision_model("resnet18", 5, backbone="fashion_resnet18", meta=True)
    with pytest.raises(HandleError, match="no values"):
        reference().torchvision_model("resnet18", 5, backbone="fashion_resnet18", meta=True)


def test_the_seed_fixes_the_weights_and_leaves_the_callers_random_state_alone():
    torch.manual_seed(11)
    before = torch.rand(3)
    torch.manual_seed(11)
    first = kept.make_torchvision_model("resnet18", 4, seed=5)
    assert torch.equal(torch.rand(3), before)
    second = kept.make_torchvision_model("resnet18", 4, seed=5)
    other = kept.make_torchvision_model("resnet18", 4, seed=6)
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert not torch.equal(first.fc.weight, other.fc.weight)
    assert all(p.requires_grad for p in first.parameters())


def test_the_course_backbone_loads_all_but_its_head():
    state = kept.course_backbone_state("fashion_resnet18", COURSE_DATA)
    model = kept.make_torchvision_model("resnet18", 5, backbone="fashion_resnet18", seed=1, freeze_backbone=True,
                                        data_dir=COURSE_DATA)
    assert torch.equal(model.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert torch.equal(model.bn1.running_mean, state["bn1.running_mean"])
    assert not torch.equal(model.fc.weight, state["fc.weight"])  # a fresh head from the seed
    head = kept.make_torchvision_model("resnet18", 5, seed=1)
    assert torch.equal(model.fc.weight, head.fc.weight)


def test_a_damaged_backbone_is_refused_by_both_sides(tmp_path):
    relative = kept.COURSE_BACKBONES["fashion_resnet18"][1]
    (tmp_path / relative).parent.mkdir(parents=True)
    shutil.copy(COURSE_DATA / relative, tmp_path / relative)
    with (tmp_path / relative).open("r+b") as file:
        file.seek(5000)
        file.write(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="sha256 differs"):
        kept.make_torchvision_model("resnet18", 5, backbone="fashion_resnet18", data_dir=tmp_path)
    with pytest.raises(CourseError, match="sha256"):
        reference().torchvision_model("resnet18", 5, backbone="fashion_resnet18", data_dir=tmp_path)


@pytest.mark.parametrize("arch, num_classes, backbone, seed, match", [
    ("resnet9", 5, None, None, "builds one of resnet18"),
    ("vgg16", 5, None, None, "builds one of"),
    ("resnet18", 0, None, None, "num_classes"),
    ("resnet18", 5.0, None, None, "num_classes"),
    ("resnet18", 5, None, 1.5, "seed"),
    ("resnet50", 5, "fashion_resnet18", None, "not a course backbone for resnet50"),
    ("resnet18", 5, "imagenet", None, "not a course backbone"),
])
def test_bad_model_requests_are_refused_by_name(arch, num_classes, backbone, seed, match):
    with pytest.raises(HandleError, match=match):
        reference().torchvision_model(arch, num_classes, backbone=backbone, seed=seed)


@pytest.mark.parametrize("arch, backbone, match", [
    ("vgg16", None, "builds one of"), ("resnet50", "fashion_resnet18", "is not a resnet50"),
    ("resnet18", "imagenet", "no course backbone"),
])
def test_the_kernels_builder_refuses_them_too(arch, backbone, match):
    with pytest.raises(ValueError, match=match):
        kept.make_torchvision_model(arch, 5, backbone=backbone)


def test_parameters_and_predictions_come_back_as_plain_data():
    side = reference()
    model = side.torchvision_model("resnet18", 3, seed=2, freeze_backbone=True)
    rows = side.model_parameters(model)
    assert rows[0][:5] == ("conv1.weight", [64, 3, 7, 7], "torch.float32", "cpu", False)
    assert rows[-2][:5] == ("fc.weight", [3, 512], "torch.float32", "cpu", True)
    fc = model._object.fc.weight.detach().double()
    assert rows[-2][5] == pytest.approx(fc.sum().item()) and rows[-2][6] == pytest.approx((fc * fc).sum().item())
    images = torch.randint(0, 256, (9, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    got = side.model_predictions(model, images, size=32, mean=mean, std=std)
    net = model._object.eval()
    x = torch.nn.functional.interpolate(images.float().unsqueeze(1) / 255, size=(32, 32), mode="bilinear")
    x = (x.repeat(1, 3, 1, 1) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        assert torch.equal(got, net(x).argmax(1)) and got.dtype == torch.int64
    net.train()
    side.model_predictions(model, images, size=32, mean=mean, std=std)
    assert net.training  # the probe restores the mode it found
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        kept.describe_parameters(torch.zeros(2))


CELLS = ['''
import torch

def fine_tune(model, loader, epochs, lr):
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
''']


@pytest.mark.slow
def test_the_kernel_builds_the_same_models_as_the_grader_and_keeps_them():
    g = torch.Generator().manual_seed(4)
    X, y = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 5, (16,), generator=g)
    images = torch.randint(0, 256, (12, 28, 28), dtype=torch.uint8, generator=g)
    namespace: dict = {}
    exec(CELLS[0], namespace)  # the reference: the same code, in the grader
    ref = ReferenceProxy(types.SimpleNamespace(**namespace))
    with StudentKernel(CELLS, Limits(call_timeout_s=60, memory_mb=2048), data_dir=COURSE_DATA,
                       require_isolation=False) as kernel:
        kernel.run_notebook()
        student = StudentProxy(kernel)
        rows = {}
        for side in (student, ref):
            model = side.torchvision_model("resnet18", 5, backbone="fashion_resnet18", seed=9, freeze_backbone=True)
            before = side.model_parameters(model)
            side.fine_tune(model, side.data_loader(X, y, batch_size=8, shuffle=True, seed=3), 2, 1e-2)
            rows[side] = before, side.model_parameters(model), side.model_predictions(model, images, size=32)
        (s_before, s_after, s_pred), (r_before, r_after, r_pred) = rows[student], rows[ref]
        assert s_before == r_before and [row[:5] for row in s_after] == [row[:5] for row in r_after]
        assert s_after[-2][5] == pytest.approx(r_after[-2][5], rel=1e-4)  # the head moved alike
        assert s_after[-2][5] != s_before[-2][5] and s_after[0] == s_before[0]  # the frozen stem did not
        assert torch.equal(s_pred, r_pred)
        big = student.torchvision_model("resnet50", 3, seed=1)
        assert student.model_parameters(big)[-2][:2] == ("fc.weight", [3, 2048])
        with pytest.raises(HandleError, match="belongs to the reference"):
            student.model_parameters(ref.torchvision_model("resnet18", 2))
