"""Hidden suite of a07_transfer_learning: replace_head, count_trainable, train_transforms, eval_transforms,
fine_tune, and the accuracy a fine-tuned course backbone reaches on 2,530 hidden images of five classes it
never saw in pretraining.

Models cannot cross the wire as data: every model is built in the kernel by the grader's agent
(``student.torchvision_model``: torchvision's ResNet-18 to ResNet-152, ``weights=None``, its starting weights
drawn from a secret seed; the course backbone ``fashion_resnet18`` read from ``~/data`` and checked), and read
back by the agent's trusted probes (``model_parameters``: each parameter's name, shape, device,
``requires_grad`` and two fingerprints, its sum and sum of squares; ``model_predictions``: the classes it
predicts, in eval mode without gradients). The reference gets the same models from the same seeds.

``replace_head`` is compared by the head it leaves (``fc``'s in and out features, read from the last two-
dimensional ``fc.*`` weight, so an ``nn.Sequential`` head counts) and how many tensors are trainable inside and
outside ``fc``: on ResNet-18 (frozen), ResNet-34 and a secret one of ResNet-50/101/152 (frozen; 512 against 2048
features), ResNet-34 unfrozen, all built on the meta device (shapes without values: a ResNet-152 costs nothing),
and on the course backbone, whose weights must be the ones it came with. ``count_trainable`` must equal the count
the probe gives, exactly, frozen and not (on the meta device too). The transforms take a uint8 image tensor (3, H,
W) (what ``torchvision.io.decode_image`` gives) at a secret ``size``: both give float32 (3, size, size) for square
and oblong images; ``eval_transforms`` of a plain-coloured image matches the reference within 1e-3 (ImageNet mean
and std: any resize, crop or interpolation gives the same plain colour) and gives the same output on every call;
``train_transforms`` keeps a black image at -mean/std per channel (median over the pixels, so a random erasing
passes) and a dark grey one on ImageNet's scale (its median within what brightness factors 0.5 to 1.5 allow), and
gives at least 2 different outputs in 24 calls (a flip alone fails that with probability 2^-23).

``fine_tune`` runs on the course backbone with a fresh head from a secret seed, frozen, over loaders the grader
builds in the kernel with one shuffling seed for both sides (images already prepared: resized to 32 x 32,
grey repeated to 3 channels, ImageNet-normalised). The small loop (a secret 40 of the 400 public images,
batches of 10, 2 epochs, lr 1e-3) must give the reference's losses and head (rtol 1e-3: the same Adam steps up
to float32 rounding of the convolutions) and leave every frozen weight as it was, on ``DEVICE``.

The threshold test (fair-threshold rules of docs/suite-authoring.md, section 11): a secret 200 of the 400 public
few-label images with their class names permuted by a secret permutation, batches of 25, 6 epochs, lr 1e-2,
the head from a secret seed, the backbone frozen. The trained head and the batch norms' running statistics come
back (``model_state``) and are loaded into the grader's own copy of the backbone (``reference.twin``), which
predicts a secret 1,200 of the 2,530 hidden test images: the hidden images never enter the kernel, and a
fine_tune that swaps its model's forward for a look-up of labelled images scores what its head scores. The
accuracy must reach the reference's (same start, same
batches) minus THRESHOLD_MARGIN = 0.05. An honest student gets the reference's batches and start, so the two
differ by float rounding only (CPU against GPU included): the notebook's solution scored exactly the reference's
accuracy under every seed of the author's check. Measured over 10 seeds (one thread, /tmp fairness script of
the a07 report): the reference reached 0.750 to 0.844 (median 0.80); the same start over another batch order
moved it by -0.068 to +0.054 (so the margin is no allowance for another shuffle, which no honest loop makes);
the catalogue's loop without zero_grad reached 0.39 to 0.69 and plain SGD 0.66 to 0.74, all failing by far;
training in eval mode (batch-norm statistics frozen) reached 0.81 to 0.86 and passes here (the loss-curve test
catches it). Each side fine-tunes in about 1.5 s and predicts in about 1 s of one idle core.
"""

import functools
import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autograder.grading.handles import Handle
from autograder.testing import (
    ComparisonError,
    assert_at_least,
    assert_close,
    grade_cell,
    load_catalogue,
    points,
    read_verified,
)

SUITE_VERSION = "a07-4"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = ROOT / "data" / "fashion_backbone" / "fewlabel_public.npz"
PUBLIC_SHA256 = "fba8075f30e5366b67f82f591c418f74d3fe19bc3260ee036ffc4a7f0ac540a8"
HIDDEN = Path(__file__).with_name("data") / "fewlabel_test.npz"
HIDDEN_SHA256 = "2b54f82bf0bbebac4c3031cabce560e8e64e4de5d4eb2d7bf355b4edb4d8e014"
BACKBONE, NUM_CLASSES, IMAGE_SIZE = "fashion_resnet18", 5, 32
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # the kernel sees the GPU with gpu = true (docs/gpu.md)
LOOP_ROWS, LOOP_BATCH, LOOP_EPOCHS, LOOP_LR = 40, 10, 2, 1e-3
THRESHOLD_ROWS, THRESHOLD_BATCH, THRESHOLD_EPOCHS, THRESHOLD_LR, THRESHOLD_MARGIN = 200, 25, 6, 1e-2, 0.05
THRESHOLD_TEST_ROWS = 1200  # a secret 1,200 of the 2,530 hidden images: predictions cost less than the whole
RESNET_TYPE = "torchvision.models.resnet.ResNet"

HEAD_HINT = ("replace model.fc with nn.Linear(model.fc.in_features, num_classes); with freeze_backbone=True first "
             "set requires_grad = False on every parameter of the model (the new head stays trainable), and "
             "return the model")
COUNT_HINT = "sum(p.numel() for p in model.parameters() if p.requires_grad), as a Python int"
EVAL_HINT = ("v2.Resize((size, size)), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=(0.485, 0.456, "
             "0.406), std=(0.229, 0.224, 0.225)): no random step")
TRAIN_HINT = ("random steps (v2.RandomResizedCrop(size), v2.RandomHorizontalFlip(), small v2.RandomAffine rotations "
              "and shifts, v2.ColorJitter(brightness, contrast)), then v2.ToDtype(torch.float32, scale=True) and "
              "ImageNet's v2.Normalize")
TUNE_HINT = ("model.to(device); torch.optim.Adam over the trainable parameters with lr; nn.CrossEntropyLoss(); each "
             "epoch model.train(), then for each (images, labels) batch, moved to device: zero_grad, forward, loss, "
             "backward, step; return the list of each epoch's mean batch loss")


# ----------------------------------------------------------------------------------------------- helpers

@functools.cache
def _archive(path, sha256):
    with np.load(io.BytesIO(read_verified(path, sha256)), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def public_images():
    """The 400 public few-label images (uint8 (n, 28, 28)) and their labels 0-4."""
    data = _archive(PUBLIC, PUBLIC_SHA256)
    images = np.concatenate([data["train_images"], data["val_images"]])
    labels = np.concatenate([data["train_labels"], data["val_labels"]])
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def hidden_images():
    data = _archive(HIDDEN, HIDDEN_SHA256)
    return torch.from_numpy(data["images"]), torch.from_numpy(data["labels"]).long()


def prepare(images):
    """uint8 (n, 28, 28) -> float32 (n, 3, 32, 32): resized, grey repeated, ImageNet-normalised (the backbone's)."""
    x = F.interpolate(images.float().div(255).unsqueeze(1), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear",
                      align_corners=False)
    return (x.repeat(1, 3, 1, 1) - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def seed_from(rng):
    return int(rng.integers(0, 2**31 - 1, ()))


def head_summary(rows):
    """What replace_head is compared by (mistakes.py describes its mistakes the same way)."""
    head = [row for row in rows if row[0].startswith("fc.") and len(row[1]) == 2]
    return {
        "fc in_features": head[0][1][1] if head else None,
        "fc out_features": head[-1][1][0] if head else None,
        "trainable tensors outside fc": sum(1 for row in rows if row[4] and not row[0].startswith("fc.")),
        "trainable tensors in fc": sum(1 for row in rows if row[4] and row[0].startswith("fc.")),
    }


def returned_model(model, call):
    if not isinstance(model, Handle) or model.type_name != RESNET_TYPE:
        got = model.type_name if isinstance(model, Handle) else type(model).__name__
        raise ComparisonError(f"{call} -> returned {got}; expected the model (a {RESNET_TYPE}).\nHint: end "
                              "replace_head with `return model`")
    return model


def head_check(student, reference, rng, arch, freeze, num_classes=None):
    num_classes = num_classes or int(rng.integers(2, 21, ()))
    seed = seed_from(rng)
    call = f"replace_head(torchvision.models.{arch}(), num_classes={num_classes}, freeze_backbone={freeze})"
    summaries = []
    for side in (student, reference):
        model = side.torchvision_model(arch, 1000, seed=seed, meta=True)  # shapes only: a ResNet-152 in no time
        new = returned_model(side.keep.replace_head(model, num_classes, freeze_backbone=freeze), call)
        summaries.append(head_summary(side.model_parameters(new)))
    with MISTAKES.diagnose("replace_head", arch, num_classes, freeze_backbone=freeze):
        assert_close(summaries[0], summaries[1], fn=call, what="the model's head and trainable tensors",
                     hint=HEAD_HINT)


def image(rng, height, width):
    return rng.integers(0, 256, (3, height, width)).to(torch.uint8)


def plain(rng, height, width, low=0, high=256):
    colour = rng.integers(low, high, (3, 1, 1)).to(torch.uint8)
    return colour.expand(3, height, width).contiguous()


def check_output(out, size, call):
    if not isinstance(out, torch.Tensor) or out.dtype != torch.float32 or tuple(out.shape) != (3, size, size):
        got = (f"{out.dtype} {list(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__)
        raise ComparisonError(f"{call} -> got {got}; expected a torch.float32 tensor [3, {size}, {size}].\nHint: "
                              "resize to (size, size) (or resize, then crop to size), then v2.ToDtype(torch.float32, "
                              "scale=True) and v2.Normalize")
    return out


def transform(side, name, size):
    made = getattr(side.keep, name)(size)
    if not isinstance(made, Handle):
        raise ComparisonError(f"{name}(size={size}) -> returned {type(made).__name__}; expected a transform "
                              "(a callable such as v2.Compose([...])).\nHint: return the composed transform")
    return made


# ----------------------------------------------------------------------------------------------- replace_head

@grade_cell("test_replace_head")
class TestReplaceHead:
    @points(2)
    def test_resnet18_frozen(self, student, reference, rng):
        head_check(student, reference, rng, "resnet18", True)

    @points(2)
    def test_deeper_resnets(self, student, reference, rng):
        deep = ("resnet50", "resnet101", "resnet152")[int(rng.integers(0, 3, ()))]
        for arch in ("resnet34", deep):
            head_check(student, reference, rng, arch, True)

    @points(1)
    def test_unfrozen(self, student, reference, rng):
        head_check(student, reference, rng, "resnet34", False)

    @points(1)
    def test_keeps_the_pretrained_weights(self, student, rng):
        seed, num_classes = seed_from(rng), int(rng.integers(2, 21, ()))
        model = student.torchvision_model("resnet18", NUM_CLASSES, backbone=BACKBONE, seed=seed)
        before = [row for row in student.model_parameters(model) if not row[0].startswith("fc.")]
        call = f"replace_head(the course backbone, num_classes={num_classes})"
        new = returned_model(student.keep.replace_head(model, num_classes), call)
        after = [row for row in student.model_parameters(new) if not row[0].startswith("fc.")]
        if [(r[0], r[1], r[5], r[6]) for r in after] != [(r[0], r[1], r[5], r[6]) for r in before]:
            raise ComparisonError(f"{call} -> the layers before fc are not the pretrained ones any more.\nHint: "
                                  "change only model.fc (and requires_grad) of the model you are given: no new "
                                  "torchvision model, no re-initialisation")


# ----------------------------------------------------------------------------------------------- count_trainable

def count_check(student, rng, frozen):
    arch = ("resnet18", "resnet34", "resnet50")[int(rng.integers(0, 3, ()))]
    num_classes = int(rng.integers(2, 21, ()))
    model = student.torchvision_model(arch, num_classes, seed=seed_from(rng), freeze_backbone=frozen, meta=True)
    want = sum(int(np.prod(row[1])) for row in student.model_parameters(model) if row[4])
    got = student.count_trainable(model)
    call = f"count_trainable(a {arch} with {num_classes} classes, {'only fc' if frozen else 'all'} trainable)"
    if type(got) is not int:
        raise ComparisonError(f"{call} -> got a {type(got).__name__}; expected a Python int.\nHint: {COUNT_HINT}")
    with MISTAKES.diagnose("count_trainable", arch, num_classes, frozen):
        assert_close(got, want, fn=call, what="the count", hint=COUNT_HINT)


@grade_cell("test_count_trainable")
class TestCountTrainable:
    @points(2)
    def test_frozen_backbone(self, student, rng):
        count_check(student, rng, True)

    @points(1)
    def test_everything_trainable(self, student, rng):
        count_check(student, rng, False)


# ----------------------------------------------------------------------------------------------- transforms

def secret_size(rng):
    return (24, 32, 48, 64)[int(rng.integers(0, 4, ()))]


@grade_cell("test_train_transforms")
class TestTrainTransforms:
    @points(1)
    def test_shape_and_dtype(self, student, rng):
        size = secret_size(rng)
        made = transform(student, "train_transforms", size)
        for height, width in ((40, 40), (28, 36), (size, size)):
            check_output(made(image(rng, height, width)), size, f"train_transforms({size})(uint8 image [3, {height}, "
                                                                 f"{width}])")

    @points(1)
    def test_imagenet_normalisation(self, student, rng):
        size = secret_size(rng)
        made = transform(student, "train_transforms", size)
        mean, std = torch.tensor(MEAN), torch.tensor(STD)
        call = f"train_transforms({size})"
        for _ in range(4):
            black = check_output(made(torch.zeros(3, 30, 30, dtype=torch.uint8)), size, call)
            medians = black.reshape(3, -1).median(dim=1).values
            assert_close(medians, -mean / std, fn=f"{call}(a black image)", rtol=0, atol=1e-3,
                         what="each channel's median value",
                         hint="a black pixel is 0 after scaling to [0, 1], so ImageNet's Normalize makes it "
                              "-mean/std per channel: " + TRAIN_HINT)
            grey = plain(rng, 30, 30, 30, 61)
            medians = check_output(made(grey), size, call).reshape(3, -1).median(dim=1).values.double()
            value = grey[:, 0, 0].double() / 255
            low, high = (0.5 * value - mean) / std, (1.5 * value - mean) / std
            bounds = [(round(a, 3), round(b, 3)) for a, b in zip(low.tolist(), high.tolist(), strict=True)]
            if not bool(((medians >= low - 1e-3) & (medians <= high + 1e-3)).all()):
                raise ComparisonError(
                    f"{call}(a plain dark grey image {grey[:, 0, 0].tolist()}) -> each channel's median "
                    f"{[round(v, 3) for v in medians.tolist()]}; expected values within "
                    f"{bounds} (the pixels "
                    f"scaled to [0, 1], brightened by 0.5 to 1.5 at most, then normalised).\nHint: {TRAIN_HINT}")

    @points(1)
    def test_augments(self, student, rng):
        size = secret_size(rng)
        made = transform(student, "train_transforms", size)
        picture = image(rng, 36, 36)
        outputs = [check_output(made(picture), size, f"train_transforms({size})") for _ in range(24)]
        if all(torch.equal(out, outputs[0]) for out in outputs):
            raise ComparisonError(f"train_transforms({size}) gave the same output in 24 calls on one image: no "
                                  f"augmentation.\nHint: {TRAIN_HINT}")


@grade_cell("test_eval_transforms")
class TestEvalTransforms:
    @points(1)
    def test_shape_and_dtype(self, student, rng):
        size = secret_size(rng)
        made = transform(student, "eval_transforms", size)
        for height, width in ((40, 40), (28, 36), (size, size)):
            check_output(made(image(rng, height, width)), size, f"eval_transforms({size})(uint8 image [3, {height}, "
                                                                f"{width}])")

    @points(2)
    def test_imagenet_normalisation(self, student, reference, rng):
        size = secret_size(rng)
        mine, theirs = transform(student, "eval_transforms", size), transform(reference, "eval_transforms", size)
        for _ in range(2):
            picture = plain(rng, 30, 30)
            got = check_output(mine(picture), size, f"eval_transforms({size})")
            with MISTAKES.diagnose("eval_transforms", picture, size):
                assert_close(got, theirs(picture), fn=f"eval_transforms({size})",
                             inputs={"image": f"plain colour {picture[:, 0, 0].tolist()}"}, rtol=0, atol=1e-3,
                             hint=EVAL_HINT)

    @points(1)
    def test_deterministic(self, student, rng):
        size = secret_size(rng)
        made = transform(student, "eval_transforms", size)
        picture = image(rng, 36, 36)
        outputs = [check_output(made(picture), size, f"eval_transforms({size})") for _ in range(10)]
        if not all(torch.equal(out, outputs[0]) for out in outputs):
            raise ComparisonError(f"eval_transforms({size}) gave different outputs for the same image in 10 calls: "
                                  f"evaluation must be deterministic.\nHint: random augmentation belongs in "
                                  f"train_transforms only; {EVAL_HINT}")


# ----------------------------------------------------------------------------------------------- fine_tune

def loop_setup(rng, rows=LOOP_ROWS):
    images, labels = public_images()
    chosen = torch.randperm(len(images), generator=rng.generator)[:rows]
    return prepare(images[chosen]), labels[chosen], seed_from(rng)


def run_loop(side, setup, epochs=LOOP_EPOCHS):
    X, y, seed = setup
    model = side.torchvision_model("resnet18", NUM_CLASSES, backbone=BACKBONE, seed=seed, freeze_backbone=True)
    before = side.model_parameters(model)
    loader = side.data_loader(X, y, batch_size=LOOP_BATCH, shuffle=True, seed=seed)
    losses = side.fine_tune(model, loader, epochs, LOOP_LR, DEVICE)
    return losses, before, side.model_parameters(model)


LOOP_CALL = (f"fine_tune(the course backbone with a new frozen-backbone head, {LOOP_ROWS} images in shuffled batches "
             f"of {LOOP_BATCH}, epochs={LOOP_EPOCHS}, lr={LOOP_LR}, device={DEVICE!r})")


def check_losses(losses, epochs, call):
    if type(losses) is not list or len(losses) != epochs:
        got = f"a list of {len(losses)} values" if type(losses) is list else f"a {type(losses).__name__}"
        raise ComparisonError(f"{call} -> got {got}; expected a list of {epochs} floats, one per epoch.\nHint: "
                              "after each epoch append the mean of its batch losses (loss.item()) and return the list")
    for index, loss in enumerate(losses):
        if not isinstance(loss, float) or not np.isfinite(loss):
            raise ComparisonError(f"{call} -> losses[{index}] is {loss!r:.40}; expected a finite Python float.\n"
                                  "Hint: loss.item() turns a 0-d tensor into a float")


@grade_cell("test_fine_tune")
class TestFineTune:
    @points(1)
    def test_one_loss_per_epoch(self, student, rng):
        setup = loop_setup(rng, 20)
        losses, _, _ = run_loop(student, setup, epochs=int(rng.integers(1, 4, ())))
        check_losses(losses, len(losses) if type(losses) is list and 1 <= len(losses) <= 3 else -1, LOOP_CALL)

    @points(2)
    def test_loss_curve(self, student, reference, rng):
        setup = loop_setup(rng)
        got, _, _ = run_loop(student, setup)
        check_losses(got, LOOP_EPOCHS, LOOP_CALL)
        want, _, _ = run_loop(reference, setup)
        X, y, seed = setup
        with MISTAKES.diagnose("fine_tune", X, y, seed, LOOP_BATCH, LOOP_EPOCHS, LOOP_LR):
            assert_close(got, want, fn=LOOP_CALL, rtol=1e-3, atol=1e-5, check_dtype=False, what="losses",
                         hint="from the same start over the same batches, your losses must be the course's. "
                              + TUNE_HINT)

    @points(2)
    def test_trains_only_the_head(self, student, reference, rng):
        setup = loop_setup(rng)
        _, before, after = run_loop(student, setup)
        _, _, want = run_loop(reference, setup)
        frozen = [(r[0], r[5], r[6]) for r in before if not r[4]]
        if [(r[0], r[5], r[6]) for r in after if not r[0].startswith("fc.")] != frozen:
            raise ComparisonError(f"{LOOP_CALL} -> the frozen backbone's weights changed.\nHint: give the optimizer "
                                  "only the parameters with requires_grad (or all: frozen ones get no gradient), "
                                  "and do not switch requires_grad back on")
        head = {r[0]: torch.tensor(r[5:7], dtype=torch.float64) for r in after if r[0].startswith("fc.")}
        theirs = {r[0]: torch.tensor(r[5:7], dtype=torch.float64) for r in want if r[0].startswith("fc.")}
        assert_close(head, theirs, fn=LOOP_CALL, rtol=1e-3, atol=1e-4,
                     what="the head's weights after training (their sum and sum of squares)",
                     hint="train the model you are given, in place: " + TUNE_HINT)

    @points(1)
    def test_uses_the_device(self, student, rng):
        _, _, after = run_loop(student, loop_setup(rng, 20), epochs=1)
        places = sorted({row[3] for row in after})
        if places != [torch.device(DEVICE).type]:
            raise ComparisonError(f"fine_tune(..., device={DEVICE!r}) -> the model's parameters are on {places}; "
                                  f"expected all on {DEVICE!r}.\nHint: model.to(device), and each batch "
                                  "images.to(device), labels.to(device)")


# ----------------------------------------------------------------------------------------------- hidden images

TRAINED_STATE = ("running_mean", "running_var", "num_batches_tracked")  # besides fc: what training in train mode moves


@grade_cell("test_fewlabel")
class TestFewLabel:
    @points(3)
    def test_accuracy_on_hidden_images(self, student, reference, rng):
        images, labels = public_images()
        rows = torch.randperm(len(images), generator=rng.generator)[:THRESHOLD_ROWS]
        names = torch.randperm(NUM_CLASSES, generator=rng.generator)
        X, y = prepare(images[rows]), names[labels[rows]]
        test_images, test_labels = hidden_images()
        chosen = torch.randperm(len(test_images), generator=rng.generator)[:THRESHOLD_TEST_ROWS]
        test_images, y_test = test_images[chosen], names[test_labels[chosen]]  # y_test stays here
        seed = seed_from(rng)
        call = "the course backbone with a new head, trained by fine_tune"

        def accuracy(side):
            model = side.torchvision_model("resnet18", NUM_CLASSES, backbone=BACKBONE, seed=seed,
                                           freeze_backbone=True)
            loader = side.data_loader(X, y, batch_size=THRESHOLD_BATCH, shuffle=True, seed=seed)
            side.fine_tune(model, loader, THRESHOLD_EPOCHS, THRESHOLD_LR, DEVICE)
            # The trained head and the batch norms' statistics run in the grader's own copy of the backbone: the
            # kernel's forward, which a fine_tune could swap for a look-up of labelled images, plays no part.
            state = side.model_state(model, prefixes=("fc.",), suffixes=TRAINED_STATE)
            twin = reference.twin(reference.torchvision_model("resnet18", NUM_CLASSES, backbone=BACKBONE, seed=seed,
                                                              freeze_backbone=True), state)
            predicted = reference.model_predictions(twin, test_images, size=IMAGE_SIZE, mean=MEAN, std=STD)
            if not isinstance(predicted, torch.Tensor) or tuple(predicted.shape) != (len(test_images),):
                raise ComparisonError(f"{call}: no prediction for each of the {len(test_images)} hidden images")
            return (predicted == y_test).double().mean().item()

        got, want = accuracy(student), accuracy(reference)
        assert_at_least(got, want, THRESHOLD_MARGIN, fn=call,
                        inputs={"loader": f"{THRESHOLD_ROWS} public images in shuffled batches of {THRESHOLD_BATCH}",
                                "epochs": THRESHOLD_EPOCHS, "lr": THRESHOLD_LR},
                        what=f"accuracy on {len(test_images)} hidden images (at least the reference's minus "
                             f"{THRESHOLD_MARGIN})",
                        hint="the grader fine-tunes the course backbone's new head with your fine_tune from the "
                             "same start over the same batches as the course's solution. " + TUNE_HINT)
