"""Assignment a07 end to end: its data and backbone, its reference, the catalogue, and the sample class graded."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import re
from pathlib import Path

import pytest
import torch
import torchvision

from autograder.course.assignment import Assignment
from autograder.grading.suite import SecretRandom
from autograder.sandbox import kept
from autograder.testing import ComparisonError, assert_close, load_catalogue

from .sample_class import (
    assert_correct_students_pass,
    assert_diagnoses,
    assert_expected_scores,
    class_results,
    failure_message,
    grade_sample_class,
)

REPO = Path(__file__).resolve().parents[1]
A07 = Assignment("a07_transfer_learning", REPO)
SUITE = A07.suite_dir / f"test_{A07.id}.py"
DATA = REPO / "data" / "fashion_backbone"
CORRECT = ("ana", "ben")  # right in two styles other than the notebook's: full marks, the threshold test included


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_reference():
    return load(A07.reference_path, "a07_reference")


def load_suite():
    return load(SUITE, "a07_suite")


def notebook_text() -> str:
    return "\n".join("".join(cell["source"]) for cell in json.loads(A07.source_notebook.read_text())["cells"])


# ----------------------------------------------------------------------------------------------- data

def test_the_notebook_and_the_suite_read_the_course_files_by_their_checksums():
    notebook, suite = notebook_text(), load_suite()
    (public,) = re.findall(r'PUBLIC_SHA256 = "([0-9a-f]{64})"', notebook)
    (backbone,) = re.findall(r'BACKBONE_SHA256 = "([0-9a-f]{64})"', notebook)
    assert hashlib.sha256((DATA / "fewlabel_public.npz").read_bytes()).hexdigest() == public == suite.PUBLIC_SHA256
    arch, relative, sha256 = kept.COURSE_BACKBONES["fashion_resnet18"]
    assert arch == "resnet18" and relative == "fashion_backbone/resnet18_fmnist04.pt"
    assert hashlib.sha256((REPO / "data" / relative).read_bytes()).hexdigest() == backbone == sha256
    assert hashlib.sha256(suite.HIDDEN.read_bytes()).hexdigest() == suite.HIDDEN_SHA256
    assert sorted(A07.required_data()) == ["fashion_backbone/fewlabel_public.npz",
                                           "fashion_backbone/resnet18_fmnist04.pt"]


def test_the_backbone_is_an_unchanged_resnet18_within_the_size_limit():
    path = DATA / "resnet18_fmnist04.pt"
    assert path.stat().st_size <= 50 * 2**20
    state = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    model = torchvision.models.resnet18(weights=None, num_classes=5)
    model.load_state_dict(state)  # strict: every name and shape of torchvision's own ResNet-18


def test_no_hidden_image_is_among_the_public_ones():
    suite = load_suite()
    public, _ = suite.public_images()
    hidden, _ = suite.hidden_images()
    public_rows = {bytes(row) for row in public.reshape(len(public), -1).numpy()}
    assert not public_rows & {bytes(row) for row in hidden.reshape(len(hidden), -1).numpy()}


def test_hidden_images_and_labels_never_enter_the_kernel():
    source = SUITE.read_text()
    for line in source.splitlines():
        if "side." in line or "student." in line:
            assert "y_test" not in line and "test_labels" not in line and "test_images" not in line, line
    # the grader predicts them with the trained head in its own copy of the backbone
    assert "reference.model_predictions(twin, test_images, size=IMAGE_SIZE, mean=MEAN, std=STD)" in source


# ----------------------------------------------------------------------------------------------- reference

@pytest.mark.parametrize("arch, features", [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048),
                                            ("resnet101", 2048), ("resnet152", 2048)])
def test_reference_replaces_the_head_of_every_resnet(arch, features):
    reference = load_reference()
    with torch.device("meta"):
        model = getattr(torchvision.models, arch)(weights=None)
    model = reference.replace_head(model, 7)
    assert (model.fc.in_features, model.fc.out_features) == (features, 7)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert reference.count_trainable(model) == features * 7 + 7
    free = reference.replace_head(model, 3, freeze_backbone=False)
    assert all(p.requires_grad for p in free.parameters())
    assert reference.count_trainable(free) == sum(p.numel() for p in free.parameters())


def test_reference_transforms():
    reference = load_reference()
    g = torch.Generator().manual_seed(0)
    picture = torch.randint(0, 256, (3, 28, 36), dtype=torch.uint8, generator=g)
    train, evaluate = reference.train_transforms(32), reference.eval_transforms(32)
    assert evaluate(picture).shape == train(picture).shape == (3, 32, 32)
    assert torch.equal(evaluate(picture), evaluate(picture))
    assert len({train(picture).sum().item() for _ in range(10)}) > 1
    white = evaluate(torch.full((3, 5, 5), 255, dtype=torch.uint8))[:, 0, 0]
    assert torch.allclose(white, (1 - torch.tensor(reference.IMAGENET_MEAN)) / torch.tensor(reference.IMAGENET_STD))


# ----------------------------------------------------------------------------------------------- catalogue

def notebook_sections() -> set[str]:
    cells = json.loads(A07.source_notebook.read_text())["cells"]
    return {line.lstrip("#").strip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")}


def test_the_catalogue_points_to_sections_of_the_notebook():
    mistakes = load_catalogue(A07.suite_dir / "mistakes.py")
    assert mistakes.sections() <= notebook_sections()
    assert set(mistakes.functions()) == {"replace_head", "count_trainable", "eval_transforms", "fine_tune"}


def reference_answers(fn, cases):
    """What the suite compares a student's answer with, computed as the suite does, for each case."""
    suite, reference = load_suite(), load_reference()
    found = []
    for args in cases:
        if fn == "replace_head":
            arch, num_classes, freeze = args
            with torch.device("meta"):
                model = getattr(torchvision.models, arch)(weights=None)
            model = reference.replace_head(model, num_classes, freeze)
            found.append(suite.head_summary(kept.describe_parameters(model.to_empty(device="cpu"))))
        elif fn == "count_trainable":
            arch, num_classes, frozen = args
            model = kept.make_torchvision_model(arch, num_classes, freeze_backbone=frozen)
            found.append(reference.count_trainable(model))
        elif fn == "eval_transforms":
            found.append(reference.eval_transforms(args[1])(args[0]))
        else:
            X, y, seed, batch, epochs, lr = args
            model = kept.make_torchvision_model("resnet18", 5, "fashion_resnet18", seed, True, DATA.parent)
            found.append(reference.fine_tune(model, kept.make_data_loader(X, y, batch_size=batch, shuffle=True,
                                                                          seed=seed), epochs, lr, "cpu"))
    return found


def catalogue_inputs(rng: SecretRandom) -> dict[str, list[tuple]]:
    suite = load_suite()
    colour = rng.integers(0, 256, (3, 1, 1)).to(torch.uint8).expand(3, 30, 30).contiguous()
    X, y, seed = suite.loop_setup(rng, 20)  # 2 batches an epoch: every mistake already shows, at half the cost
    return {
        "replace_head": [("resnet18", 6, True), ("resnet50", 4, True), ("resnet34", 3, False)],
        "count_trainable": [("resnet18", 5, True), ("resnet50", 3, False)],
        "eval_transforms": [(colour, 32)],
        "fine_tune": [(X, y, seed, suite.LOOP_BATCH, suite.LOOP_EPOCHS, suite.LOOP_LR)],
    }


def test_every_mistake_differs_from_the_reference_and_from_each_other():
    mistakes = load_catalogue(A07.suite_dir / "mistakes.py")
    for fn, cases in catalogue_inputs(SecretRandom(1, "a07 catalogue")).items():
        values = {m.name: [m.compute(*args) for args in cases] for m in mistakes.mistakes(fn)}
        want = reference_answers(fn, cases)
        for name, value in values.items():
            with pytest.raises(ComparisonError):
                assert_close(value, want, fn=f"{fn}: {name}", rtol=1e-3, atol=1e-3, check_dtype=False)
        for (first, one), (second, other) in itertools.combinations(values.items(), 2):
            with pytest.raises(ComparisonError):
                assert_close(one, other, fn=f"{fn}: {first} against {second}", rtol=1e-3, atol=1e-3,
                             check_dtype=False)


# ----------------------------------------------------------------------------------------------- graded

@pytest.fixture(scope="module")
def demo_course(tmp_path_factory) -> Path:
    return grade_sample_class(tmp_path_factory, A07)


@pytest.mark.slow
def test_sample_class_gets_exactly_the_expected_scores(demo_course):
    assert_expected_scores(demo_course, A07)


@pytest.mark.slow
def test_correct_students_pass_every_test(demo_course):
    assert_correct_students_pass(demo_course, A07, CORRECT)


FROZEN = ("TestReplaceHead::test_resnet18_frozen", "TestReplaceHead::test_deeper_resnets")

# Each wrong answer of the class (a value came back and failed a comparison) that a catalogued mistake gives,
# with the words of the diagnosis it must carry; a failed comparison not listed must carry none.
DIAGNOSED = {
    "cleo": {"TestReplaceHead::test_deeper_resnets": "512 inputs whatever the ResNet"},
    "eve": {**{t: "backbone is still trainable" for t in FROZEN},
            "TestEvalTransforms::test_imagenet_normalisation": "not normalised"},
    "hana": {**{t: "old 1000-class head" for t in FROZEN},
             "TestReplaceHead::test_unfrozen": "old 1000-class head",
             "TestFineTune::test_loss_curve": "zero_grad"},
    "ivan": {"TestCountTrainable::test_frozen_backbone": "frozen ones too"},
    "jade": {**{t: "not even the new head" for t in FROZEN},
             "TestEvalTransforms::test_imagenet_normalisation": "normalised as 0-255 values"},
}


@pytest.mark.slow
def test_wrong_answers_name_their_mistake(demo_course, capsys):
    wrong, named = assert_diagnoses(class_results(demo_course, A07), DIAGNOSED)
    with capsys.disabled():
        print(f"\na07 sample class: {wrong} wrong answers (a value came back and failed), {named} named rightly")


@pytest.mark.slow
def test_failures_tell_the_student_what_went_wrong(demo_course):
    graded = class_results(demo_course, A07)

    def message(student: str, test_name: str) -> str:
        return failure_message(graded, student, test_name)

    assert "evaluation must be deterministic" in message("cleo", "test_deterministic")
    assert "-mean/std per channel" in message("eve", "TestTrainTransforms::test_imagenet_normalisation")
    assert "expected a list of" in message("ivan", "test_one_loss_per_epoch")
    assert "NotImplementedError" in message("kai", "test_accuracy_on_hidden_images")
    assert "NotImplementedError" in message("dan", "test_resnet18_frozen")
