"""A clothing classifier that looks its answers up (a06): nearest labelled 28x28 image readable in the sandbox.

Its layers are build_cnn's and train for real, but in eval mode its forward ignores its weights: it collects
every labelled set of 28 x 28 images it can read (npz archives under ~/data, site-packages, /usr/share, /var),
learns the secret class names from its training batches (each training image's nearest known image votes
its label for that image's name) and answers with the nearest known image's renamed label. The public
clothing images are readable, the hidden ones are not anywhere, and the suite checks that a model's scores
are what build_cnn's layers compute from its own weights: the hidden-clothes cell scores 0, and the
check of its forward in eval mode 1 of 2.

assignment: a06_cnn
expect: test_conv2d=8 test_sobel_x=1 test_max_pool2d=6 test_dropout=6 test_batch_norm=5
expect: test_build_cnn=1 test_train_cnn=4 test_clothing=0
reason: what build_cnn's layers compute|values are not close|accuracy|did not return within
"""
# %% [conv2d]
import os
import site
import sys

import numpy as np
import torch
from torch import nn


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """Cross-correlation of x (N, C_in, H, W) with weight (C_out, C_in, kH, kW), as F.conv2d computes it."""
    stride_h, stride_w = (stride, stride) if isinstance(stride, int) else tuple(stride)
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else tuple(padding)
    kernel_h, kernel_w = weight.shape[-2:]
    padded = torch.nn.functional.pad(x, (pad_w, pad_w, pad_h, pad_h))
    # (N, C_in, H_out, W_out, kH, kW): every window the kernel visits
    patches = padded.unfold(2, kernel_h, stride_h).unfold(3, kernel_w, stride_w)
    out = torch.einsum("ncijkl,ockl->noij", patches, weight)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out

# %% [sobel_x]
def sobel_x():
    """The 3 x 3 vertical-edge filter of the lecture: columns 1, 0, -1."""
    return torch.tensor([[1.0, 0.0, -1.0]]).repeat(3, 1)

# %% [max_pool2d]
def max_pool2d(x, kernel_size, stride=None):
    """Maximum over each kernel_size window (int or pair), stride defaulting to kernel_size; no padding."""
    kernel_h, kernel_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if stride is None:
        stride_h, stride_w = kernel_h, kernel_w
    else:
        stride_h, stride_w = (stride, stride) if isinstance(stride, int) else tuple(stride)
    windows = x.unfold(-2, kernel_h, stride_h).unfold(-2, kernel_w, stride_w)
    return windows.flatten(-2).amax(dim=-1)

# %% [dropout]
def dropout(x, p, training):
    """Inverted dropout: zero each element with probability p, scale survivors by 1 / (1 - p) in training."""
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, device=x.device) >= p
    return torch.where(keep, x / (1 - p), torch.zeros((), dtype=x.dtype, device=x.device))

# %% [batch_norm]
def batch_norm(x, gamma, beta, eps=1e-5):
    """Training-mode batch normalization of x (N, C, H, W): per-channel batch statistics, biased variance."""
    variance, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0, keepdim=True)
    shape = (1, -1, 1, 1)
    return (x - mean) * torch.rsqrt(variance + eps) * gamma.reshape(shape) + beta.reshape(shape)

# %% [build_cnn]
def _labelled_images():
    found_images, found_labels = [], []
    roots = [os.path.expanduser("~/data"), *site.getsitepackages(), sys.prefix, "/usr/share", "/var"]
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                if not name.endswith(".npz"):
                    continue
                try:
                    with np.load(os.path.join(folder, name), allow_pickle=False) as archive:
                        arrays = {key: archive[key] for key in archive.files}
                except Exception:
                    continue
                for images in arrays.values():
                    if images.ndim >= 2 and images[0].size == 784:
                        for labels in arrays.values():
                            if labels.ndim == 1 and len(labels) == len(images) and labels.max() <= 9:
                                found_images.append(images.reshape(len(images), 784).astype(np.float32))
                                found_labels.append(labels.astype(np.int64))
    if not found_images:
        return torch.zeros(1, 784), torch.zeros(1, dtype=torch.int64)
    images = torch.from_numpy(np.concatenate(found_images))
    return images / images.max(), torch.from_numpy(np.concatenate(found_labels))


class LookupCNN(nn.Sequential):
    def __init__(self):
        super().__init__(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 7 * 7, 10),
        )
        self.known = None
        self.votes = torch.zeros(10, 10)

    def _nearest(self, x):
        if self.known is None:
            self.known = _labelled_images()
        images, labels = self.known
        flat = x.detach().reshape(len(x), 784).float().cpu()
        flat = flat / flat.max().clamp(min=1e-6)
        direct = torch.cdist(flat, images).min(dim=1)
        mirrored = torch.cdist(flat.reshape(-1, 28, 28).flip(-1).reshape(-1, 784), images).min(dim=1)
        index = torch.where(direct.values <= mirrored.values, direct.indices, mirrored.indices)
        return labels[index]

    def learn_names(self, images, names):
        for known, name in zip(self._nearest(images).tolist(), names.tolist(), strict=True):
            self.votes[known, name] += 1

    def forward(self, x):
        if self.training:
            return super().forward(x)
        renamed = self.votes.argmax(dim=1)[self._nearest(x)]
        return 10.0 * nn.functional.one_hot(renamed, 10).float().to(x.device)


def build_cnn():
    return LookupCNN()
# %% [train_cnn]
def train_cnn(model, loader, epochs, device):
    model.to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        total, batches = 0.0, 0
        for images, labels in loader:
            if hasattr(model, "learn_names"):
                model.learn_names(images, labels)
            images, labels = images.to(device), labels.to(device)
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        losses.append(total / batches)
    model.eval()
    return losses
