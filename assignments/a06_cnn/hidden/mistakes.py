"""The mistakes students make in a06_cnn (hidden: beside the suite, never released or mounted).

Each function below computes, from the inputs of the student's function, the wrong answer one known slip
gives; the suite compares within ``MISTAKES.diagnose(...)`` and, when a student's value fails the
comparison but reproduces exactly one of these (and that one is not also the right answer on those
inputs), the feedback names it with the notebook section that explains it. They are trusted code, run in
the grader, so they may use the library's own operators (F.conv2d, F.max_pool2d), unlike the students.
``dropout``'s slips cannot be reproduced value for value (its mask is random): the suite's statistical
checks name them in their own messages (no scaling, dropping in eval mode, p taken as the keep
probability).
"""

import torch
import torch.nn.functional as F

from autograder.testing import Catalogue

CATALOGUE = Catalogue()

CONV = "2. Edge detection: the Sobel filter"
PADDING = "3. Padding and stride"
POOL = "4. Max pooling"
BATCH_NORM = "6. Batch normalization"


# ----------------------------------------------------------------- conv2d

@CATALOGUE.mistake("conv2d", section=PADDING,
                   message="your conv2d ignores padding: pad x with `padding` zeros on all four sides before "
                           "sliding the kernel (torch.nn.functional.pad(x, (p, p, p, p)))")
def no_padding(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, stride, 0)


@CATALOGUE.mistake("conv2d", section=PADDING,
                   message="your conv2d ignores the stride: with stride s the window moves s pixels at a time, so "
                           "the output keeps every s-th position, (H + 2 padding - kH) // s + 1 of them")
def stride_ignored(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, 1, padding)


@CATALOGUE.mistake("conv2d", section=CONV,
                   message="your conv2d flips the kernel (the textbook convolution): a CNN layer computes the "
                           "cross-correlation, out = sum of x_window * weight with the kernel as it is, which is "
                           "why sobel_x's 1s on the left find a bright-to-dark edge")
def flipped_kernel(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight.flip(-1, -2), bias, stride, padding)


@CATALOGUE.mistake("conv2d", section=CONV,
                   message="your conv2d reads the kernel transposed (weight[..., v, u] for row offset u and column "
                           "offset v): rows of the kernel go with rows of the image")
def transposed_kernel(x, weight, bias=None, stride=1, padding=0):
    if weight.shape[-1] != weight.shape[-2]:
        raise ValueError("a rectangular kernel cannot be transposed in place")
    return F.conv2d(x, weight.transpose(-1, -2), bias, stride, padding)


@CATALOGUE.mistake("conv2d", section=CONV,
                   message="your conv2d leaves out the bias: add bias[o] to every position of output channel o")
def bias_ignored(x, weight, bias=None, stride=1, padding=0):
    if bias is None:
        raise ValueError("no bias to leave out")
    return F.conv2d(x, weight, None, stride, padding)


# ----------------------------------------------------------------- sobel_x

@CATALOGUE.mistake("sobel_x", section=CONV,
                   message="your filter's columns are -1, 0, 1: the lecture's Sobel filter has 1s on the left and "
                           "-1s on the right, so the 10/0 image gives +30 at its bright-to-dark edge")
def mirrored_sobel():
    return torch.tensor([[-1.0, 0.0, 1.0]] * 3)


@CATALOGUE.mistake("sobel_x", section=CONV,
                   message="your filter finds horizontal edges (rows 1, 0, -1): the vertical-edge filter has "
                           "every ROW equal to [1, 0, -1]")
def horizontal_sobel():
    return torch.tensor([[1.0, 0.0, -1.0]] * 3).T.contiguous()


# ----------------------------------------------------------------- max_pool2d

def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@CATALOGUE.mistake("max_pool2d", section=POOL,
                   message="your max_pool2d slides by 1 when no stride is given: stride=None means stride = "
                           "kernel_size, so 2 x 2 windows do not overlap and halve the image")
def stride_one_by_default(x, kernel_size, stride=None):
    return F.max_pool2d(x, kernel_size, 1 if stride is None else stride)


@CATALOGUE.mistake("max_pool2d", section=POOL,
                   message="your max_pool2d averages each window: max pooling keeps the largest value")
def average_pool(x, kernel_size, stride=None):
    return F.avg_pool2d(x, kernel_size, stride)


@CATALOGUE.mistake("max_pool2d", section=POOL,
                   message="your max_pool2d starts each maximum from 0 (or clamps at 0): a window of negative "
                           "values has a negative maximum")
def max_from_zero(x, kernel_size, stride=None):
    return F.max_pool2d(x, kernel_size, stride).clamp(min=0)


@CATALOGUE.mistake("max_pool2d", section=POOL,
                   message="your max_pool2d swaps the window's height and width: kernel_size = (kH, kW) is (rows, "
                           "columns)")
def swapped_window(x, kernel_size, stride=None):
    kernel = _pair(kernel_size)
    if kernel[0] == kernel[1]:
        raise ValueError("a square window cannot be swapped")
    return F.max_pool2d(x, kernel[::-1], None if stride is None else _pair(stride)[::-1])


# ----------------------------------------------------------------- batch_norm

def _normalized(x, gamma, beta, mean, var, eps):
    shape = (1, -1, 1, 1)
    return (x - mean) / torch.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm uses the unbiased variance (dividing by n - 1): batch normalization "
                           "normalizes with the batch's biased variance, x.var(dim=(0, 2, 3), unbiased=False)")
def unbiased_variance(x, gamma, beta, eps=1e-5):
    dims = (0, 2, 3)
    return _normalized(x, gamma, beta, x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=1), eps)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm adds eps outside the square root, (x - mean) / (std + eps): it belongs "
                           "inside, (x - mean) / sqrt(var + eps)")
def eps_outside_the_root(x, gamma, beta, eps=1e-5):
    dims = (0, 2, 3)
    mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=0)
    return (x - mean) / (torch.sqrt(var) + eps) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm takes one mean and variance over the whole tensor: each channel has "
                           "its own, over the batch and the two spatial dimensions (dim=(0, 2, 3))")
def one_statistic_for_all_channels(x, gamma, beta, eps=1e-5):
    return _normalized(x, gamma, beta, x.mean(), x.var(correction=0), eps)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm normalizes each image on its own (statistics over dim=(1, 2, 3), "
                           "layer normalization): batch normalization takes each channel's statistics over the "
                           "batch, dim=(0, 2, 3)")
def per_image_statistics(x, gamma, beta, eps=1e-5):
    dims = (1, 2, 3)
    return _normalized(x, gamma, beta, x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=0), eps)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm normalizes over the batch only (dim=0), a statistic per channel AND "
                           "pixel: each channel's mean and variance run over the batch and both spatial dimensions, "
                           "dim=(0, 2, 3)")
def batch_dimension_only(x, gamma, beta, eps=1e-5):
    return _normalized(x, gamma, beta, x.mean(0, keepdim=True), x.var(0, keepdim=True, correction=0), eps)


@CATALOGUE.mistake("batch_norm", section=BATCH_NORM,
                   message="your batch_norm swaps gamma and beta: gamma scales the normalized values, beta shifts "
                           "them, y = x_hat * gamma + beta")
def gamma_beta_swapped(x, gamma, beta, eps=1e-5):
    dims = (0, 2, 3)
    return _normalized(x, beta, gamma, x.mean(dims, keepdim=True), x.var(dims, keepdim=True, correction=0), eps)
