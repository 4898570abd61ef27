"""Reference solutions of a06_cnn: convolution, max pooling, dropout and batch normalization by hand, and a
small CNN for Fashion-MNIST with its training loop.

Written independently of the notebook's solution cells: ``conv2d`` gathers the patches with
``Tensor.unfold`` twice and contracts them with ``torch.einsum`` (the notebook loops over the kernel's
offsets), ``max_pool2d`` takes the maximum over ``unfold``'s windows, ``batch_norm`` uses ``torch.var_mean``.
No convolution or pooling operator is used outside ``build_cnn``.
"""

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


def sobel_x():
    """The 3 x 3 vertical-edge filter of the lecture: columns 1, 0, -1."""
    return torch.tensor([[1.0, 0.0, -1.0]]).repeat(3, 1)


def max_pool2d(x, kernel_size, stride=None):
    """Maximum over each kernel_size window (int or pair), stride defaulting to kernel_size; no padding."""
    kernel_h, kernel_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if stride is None:
        stride_h, stride_w = kernel_h, kernel_w
    else:
        stride_h, stride_w = (stride, stride) if isinstance(stride, int) else tuple(stride)
    windows = x.unfold(-2, kernel_h, stride_h).unfold(-2, kernel_w, stride_w)
    return windows.flatten(-2).amax(dim=-1)


def dropout(x, p, training):
    """Inverted dropout: zero each element with probability p, scale survivors by 1 / (1 - p) in training."""
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, device=x.device) >= p
    return torch.where(keep, x / (1 - p), torch.zeros((), dtype=x.dtype, device=x.device))


def batch_norm(x, gamma, beta, eps=1e-5):
    """Training-mode batch normalization of x (N, C, H, W): per-channel batch statistics, biased variance."""
    variance, mean = torch.var_mean(x, dim=(0, 2, 3), correction=0, keepdim=True)
    shape = (1, -1, 1, 1)
    return (x - mean) * torch.rsqrt(variance + eps) * gamma.reshape(shape) + beta.reshape(shape)


def build_cnn():
    """Two conv blocks (conv 3x3 with padding 1, batch norm, ReLU, 2x2 max pool), dropout, a linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 7 * 7, 10),
    )


def small_cnn():
    """The notebook's locked network for checking training loops: no dropout, no batch norm (deterministic)."""
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4), nn.Flatten(), nn.Linear(196, 10)]
    return nn.Sequential(*layers)


def train_cnn(model, loader, epochs, device):
    """Adam (lr 1e-3) on the cross-entropy over the loader's (images, labels) batches, on device.

    images are (b, 1, 28, 28) floats; the model is moved to device and trained in training mode; returns
    the mean batch loss of each epoch, a list of floats. The model is left on device, in eval mode.
    """
    model.to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        total, batches = 0.0, 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        losses.append(total / batches)
    model.eval()
    return losses
