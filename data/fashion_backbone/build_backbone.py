"""Pretrain the course's ResNet-18 backbone (a07_transfer_learning) on five Fashion-MNIST classes.

No pretrained weights can be downloaded, so the course makes its own: torchvision's ``resnet18``
(unchanged architecture: the ImageNet stem, 7x7 stride-2 convolution and max-pool, ``fc`` of 512 -> 5),
trained from ``torch.manual_seed(SEED)`` on Fashion-MNIST's training images 0..29999 of classes 0-4
(T-shirt/top, Trouser, Pullover, Dress, Coat; 14,9xx images). Classes 5-9 (Sandal, Shirt, Sneaker, Bag,
Ankle boot) are never seen: they are the few-label task the students fine-tune on.

How a 28x28 greyscale image enters an ImageNet-shaped network (the same recipe the students' transforms
follow): resized to 32x32 (bilinear), its one channel repeated three times, then normalised with the
ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). At 32x32 the ImageNet stem leaves a
1x1 map after ``layer4``: coarse, but a forward pass costs ~37 MFLOPs, so fine-tuning and grading run in
seconds on a 2-core CPU. Training augmentation: horizontal flips and random 32x32 crops of the image
padded by 4 pixels. SGD (momentum 0.9, weight decay 5e-4), batch 128, learning rate 0.05 on a cosine
schedule, EPOCHS epochs, 2 CPU threads, deterministic algorithms.

Held-out accuracy is measured on Fashion-MNIST's test images 2000..4999 of classes 0-4 (indices no other
part of the course uses). The weights are stored as float16 (``torch.save`` of the state dict, fc
included: cutting it off is the students' job), about 22 MB::

    nice python data/fashion_backbone/build_backbone.py [path/to/dataset-fashion-mnist_*.deb]

Reproducible from the seed on the same torch version (2.14.1, CPU, 2 threads); the sha256 it printed is
in ``data/README.md`` and in ``EXPECTED`` below (checked by the notebook and the hidden suite).
"""

import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fmnist

OUT = Path(__file__).resolve().parent / "resnet18_fmnist04.pt"
SEED, EPOCHS, BATCH, LR = 20261126, 10, 128, 0.05
TRAIN_RANGE, HELDOUT_RANGE, CLASSES = (0, 30000), (2000, 5000), (0, 1, 2, 3, 4)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
EXPECTED = "35f7ebd0415a67e782f645f79f5cd50ca7cb76edd7ab10e0840e3c1f5964c5e3"


def prepare(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, 28, 28) -> float32 (n, 3, 32, 32), resized, channel repeated, ImageNet-normalised."""
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    return (x.repeat(1, 3, 1, 1) - MEAN) / STD


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and random 32x32 crops of the 4-pixel padded batch."""
    flip = torch.rand(len(x), generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (4, 4, 4, 4), value=0.0)
    dy, dx = torch.randint(0, 9, (2,), generator=gen).tolist()  # one shift a batch: cheap, enough
    return padded[:, :, dy:dy + 32, dx:dx + 32]


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).float().mean().item()


def main(deb: str | None) -> None:
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    data = fmnist.load(Path(deb) if deb else None)
    lo, hi = TRAIN_RANGE
    keep = np.isin(data["train_labels"][lo:hi], CLASSES)
    x_train = prepare(data["train_images"][lo:hi][keep])
    y_train = torch.from_numpy(data["train_labels"][lo:hi][keep]).long()
    lo, hi = HELDOUT_RANGE
    keep = np.isin(data["test_labels"][lo:hi], CLASSES)
    x_test = prepare(data["test_images"][lo:hi][keep])
    y_test = torch.from_numpy(data["test_labels"][lo:hi][keep]).long()
    print(f"training images {len(x_train)}, held-out images {len(x_test)}")

    model = torchvision.models.resnet18(weights=None, num_classes=len(CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4)
    steps = EPOCHS * ((len(x_train) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        start, total, order = time.time(), 0.0, torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(model(augment(x_train[idx], gen)), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(x_train):.4f}, "
              f"held-out accuracy {accuracy(model, x_test, y_test):.4f}, {time.time() - start:.0f} s", flush=True)

    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, OUT)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"held-out accuracy with the float16 weights: {accuracy(model, x_test, y_test):.4f} "
          f"on {len(y_test)} images")
    print(f"{OUT.name}: {OUT.stat().st_size} bytes, sha256 {digest}")
    if EXPECTED is not None and digest != EXPECTED:
        raise SystemExit(f"sha256 {digest} differs from the shipped weights' {EXPECTED}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
