"""The mistakes students make in a07_transfer_learning (hidden).

A model cannot be a catalogue's input (a `Handle` is refused), so the suite compares plain descriptions of
what a function did, and each mistake here computes the description that mistake gives from the same plain
inputs: for ``replace_head``, the head and the trainable tensors of a ResNet (``arch``, ``num_classes``,
``freeze_backbone``); for ``count_trainable``, the count (``arch``, ``num_classes``, ``frozen``); for
``eval_transforms``, the output for an image; for ``fine_tune``, the loss curve of the small loop the suite
runs (built here from the same start, with the same batches).
"""

import torch
import torchvision
from torch import nn

from autograder.grading.models import COURSE_DATA
from autograder.sandbox import kept
from autograder.testing import Catalogue

CATALOGUE = Catalogue()
HEAD = "3. Cutting the end off: a new head"
COUNT = "4. How much is left to learn?"
TRANSFORMS = "5. Preparing the images: transforms and augmentation"
FINE_TUNE = "6. Fine-tuning"

NUM_CLASSES = 5
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def resnet_on_meta(arch, num_classes=1000):
    """The architecture without its weights (the meta device: shapes only, nothing computed)."""
    with torch.device("meta"):
        return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


def head_summary(rows):
    """What the suite compares for replace_head, from (name, shape, ..., requires_grad, ...) rows."""
    head = [row for row in rows if row[0].startswith("fc.") and len(row[1]) == 2]
    return {
        "fc in_features": head[0][1][1] if head else None,
        "fc out_features": head[-1][1][0] if head else None,
        "trainable tensors outside fc": sum(1 for row in rows if row[4] and not row[0].startswith("fc.")),
        "trainable tensors in fc": sum(1 for row in rows if row[4] and row[0].startswith("fc.")),
    }


def rows_of(model):
    return [(name, list(p.shape), "", "meta", bool(p.requires_grad), 0.0, 0.0) for name, p in model.named_parameters()]


def summary_after(arch, num_classes, in_features=None, out_features=None, backbone_trainable=False,
                  head_trainable=True):
    model = resnet_on_meta(arch)
    for p in model.parameters():
        p.requires_grad_(backbone_trainable)
    with torch.device("meta"):
        model.fc = nn.Linear(in_features or model.fc.in_features, out_features or num_classes)
    model.fc.requires_grad_(head_trainable)
    return head_summary(rows_of(model))


@CATALOGUE.mistake("replace_head", section=HEAD,
                   message="your model still has its old 1000-class head: assign a new nn.Linear to model.fc")
def head_not_replaced(arch, num_classes, freeze_backbone=True):
    return summary_after(arch, num_classes, out_features=1000, backbone_trainable=not freeze_backbone)


@CATALOGUE.mistake("replace_head", section=HEAD,
                   message="your new head takes 512 inputs whatever the ResNet: ResNet-50 and deeper give 2048 "
                           "features; read them from model.fc.in_features")
def hard_coded_512(arch, num_classes, freeze_backbone=True):
    return summary_after(arch, num_classes, in_features=512, backbone_trainable=not freeze_backbone)


@CATALOGUE.mistake("replace_head", section=HEAD,
                   message="the backbone is still trainable: with freeze_backbone=True set requires_grad = False "
                           "on every parameter of the pretrained model before you add the new head")
def backbone_not_frozen(arch, num_classes, freeze_backbone=True):
    return summary_after(arch, num_classes, backbone_trainable=True)


@CATALOGUE.mistake("replace_head", section=HEAD,
                   message="nothing is trainable, not even the new head: freeze the backbone first, then add the "
                           "head (a new nn.Linear is trainable), or do not freeze the head afterwards")
def head_frozen_too(arch, num_classes, freeze_backbone=True):
    return summary_after(arch, num_classes, backbone_trainable=False, head_trainable=False)


@CATALOGUE.mistake("replace_head", section=HEAD,
                   message="freeze_backbone=False still froze the backbone: freeze only when it is True")
def always_frozen(arch, num_classes, freeze_backbone=True):
    return summary_after(arch, num_classes, backbone_trainable=False)


def count_of(arch, num_classes, frozen, which):
    model = resnet_on_meta(arch, num_classes)
    for name, p in model.named_parameters():
        p.requires_grad_(not frozen or name.startswith("fc."))
    return which(model)


@CATALOGUE.mistake("count_trainable", section=COUNT,
                   message="you counted every parameter, frozen ones too: count only those with requires_grad")
def counts_frozen_too(arch, num_classes, frozen):
    return count_of(arch, num_classes, frozen, lambda m: sum(p.numel() for p in m.parameters()))


@CATALOGUE.mistake("count_trainable", section=COUNT,
                   message="you counted the frozen parameters: those with requires_grad are the trainable ones")
def counts_the_frozen(arch, num_classes, frozen):
    return count_of(arch, num_classes, frozen, lambda m: sum(p.numel() for p in m.parameters() if not p.requires_grad))


@CATALOGUE.mistake("count_trainable", section=COUNT,
                   message="you counted tensors, not numbers: add up p.numel() of each trainable parameter")
def counts_tensors(arch, num_classes, frozen):
    return count_of(arch, num_classes, frozen, lambda m: sum(1 for p in m.parameters() if p.requires_grad))


@CATALOGUE.mistake("count_trainable", section=COUNT,
                   message="you counted the state_dict, which holds batch-norm statistics (buffers) too: count "
                           "model.parameters() with requires_grad")
def counts_state_dict(arch, num_classes, frozen):
    return count_of(arch, num_classes, frozen, lambda m: sum(v.numel() for v in m.state_dict().values()))


def eval_like(image, size, scale=255.0, mean=MEAN, std=STD):
    x = torch.nn.functional.interpolate(image.float().unsqueeze(0), size=(size, size), mode="bilinear",
                                        antialias=True).squeeze(0) / scale
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


@CATALOGUE.mistake("eval_transforms", section=TRANSFORMS,
                   message="your values are the pixels scaled to [0, 1], not normalised: end with "
                           "Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)), ImageNet's")
def no_normalisation(image, size=224):
    return eval_like(image, size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


@CATALOGUE.mistake("eval_transforms", section=TRANSFORMS,
                   message="your pixels were normalised as 0-255 values: scale them to [0, 1] first "
                           "(v2.ToDtype(torch.float32, scale=True)), then Normalize")
def not_scaled(image, size=224):
    return eval_like(image, size, scale=1.0)


@CATALOGUE.mistake("eval_transforms", section=TRANSFORMS,
                   message="you normalised with mean 0.5 and std 0.5: the backbone expects ImageNet's mean "
                           "(0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)")
def half_normalised(image, size=224):
    return eval_like(image, size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


@CATALOGUE.mistake("eval_transforms", section=TRANSFORMS,
                   message="your mean and std are swapped: Normalize(mean, std) subtracts the mean "
                           "(0.485, 0.456, 0.406) and divides by the std (0.229, 0.224, 0.225)")
def mean_std_swapped(image, size=224):
    return eval_like(image, size, mean=STD, std=MEAN)


def loop(X, y, seed, batch_size, epochs, lr, *, zero_grad=True, record="mean", optimizer="adam", train_mode=True):
    """The suite's small fine-tuning run, made with one change; its loss curve."""
    model = kept.make_torchvision_model("resnet18", NUM_CLASSES, "fashion_resnet18", seed, True, COURSE_DATA)
    loader = kept.make_data_loader(X, y, batch_size=batch_size, shuffle=True, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    losses = []
    for _ in range(epochs):
        model.train(train_mode)
        batch_losses = []
        for images, labels in loader:
            if zero_grad:
                opt.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        losses.append({"mean": sum(batch_losses) / len(batch_losses), "sum": sum(batch_losses),
                       "last": batch_losses[-1]}[record])
    return losses


@CATALOGUE.mistake("fine_tune", section=FINE_TUNE,
                   message="your gradients add up from batch to batch: call optimizer.zero_grad() before each "
                           "backward()")
def no_zero_grad(X, y, seed, batch_size, epochs, lr):
    return loop(X, y, seed, batch_size, epochs, lr, zero_grad=False)


@CATALOGUE.mistake("fine_tune", section=FINE_TUNE,
                   message="each epoch's loss is its last batch's: record the mean of the epoch's batch losses")
def last_batch_loss(X, y, seed, batch_size, epochs, lr):
    return loop(X, y, seed, batch_size, epochs, lr, record="last")


@CATALOGUE.mistake("fine_tune", section=FINE_TUNE,
                   message="each epoch's loss is the sum of its batch losses: divide by the number of batches")
def summed_loss(X, y, seed, batch_size, epochs, lr):
    return loop(X, y, seed, batch_size, epochs, lr, record="sum")


@CATALOGUE.mistake("fine_tune", section=FINE_TUNE,
                   message="you trained with plain SGD: the notebook's fine_tune uses torch.optim.Adam with lr")
def plain_sgd(X, y, seed, batch_size, epochs, lr):
    return loop(X, y, seed, batch_size, epochs, lr, optimizer="sgd")


@CATALOGUE.mistake("fine_tune", section=FINE_TUNE,
                   message="the model trained in eval mode: call model.train() at the start of each epoch, so "
                           "batch normalisation uses (and updates) the batch's statistics")
def eval_mode(X, y, seed, batch_size, epochs, lr):
    return loop(X, y, seed, batch_size, epochs, lr, train_mode=False)
