"""Reference solutions of a07_transfer_learning (hidden: the grader loads it, students never see it).

Written apart from the source notebook's solution cells (``named_parameters`` to freeze, ``torch.nn.Module``
counting by ``requires_grad``, torchvision's v2 transforms, a loop that weighs each batch by its size), so
the course author's check compares two implementations. Images enter the transforms as uint8 tensors
(3, H, W), as ``torchvision.io.decode_image`` gives them; the grader builds the models
(``torchvision_model``) and the loaders, and gives the reference the same ones as the student.
"""

import torch
from torch import nn
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def replace_head(model, num_classes, freeze_backbone=True):
    for _, parameter in model.named_parameters():
        parameter.requires_grad_(not freeze_backbone)
    model.fc = nn.Linear(model.fc.in_features, num_classes)  # new parameters: trainable
    return model


def count_trainable(model):
    return int(sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad))


def train_transforms(size=224):
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.75, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=10, translate=(0.1, 0.1)),
        v2.ColorJitter(brightness=0.2, contrast=0.2),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def eval_transforms(size=224):
    return v2.Compose([
        v2.Resize((size, size), antialias=True),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


def fine_tune(model, train_loader, epochs, lr, device):
    model = model.to(device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        total, seen = 0.0, 0
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            seen += len(labels)
        losses.append(total / seen)
    return losses

