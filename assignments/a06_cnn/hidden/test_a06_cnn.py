"""Hidden suite of a06_cnn: convolution and max pooling written by hand (values and gradients against
F.conv2d and F.max_pool2d, under a ban of every convolution and pooling operator), the Sobel filter,
inverted dropout (statistical checks with stated bounds), training-mode batch normalization, and a small CNN
trained on real clothing images, judged by its accuracy on 1,000 of 2,000 hidden ones.

Inputs come from ``rng`` (secret per grading run). ``conv2d`` and ``max_pool2d`` are compared with the
reference (F.conv2d / F.max_pool2d semantics) over batch sizes 1 to 4, 1 to 8 channels, strides 1 to 3,
paddings 0 to 2, square and rectangular kernels and images, float32 (rtol = atol = 1e-4: sums of up to 200
products in another order) and float64 (the dtype's defaults); their gradients in float64 with secret weights
of the outputs. Every call of either goes through ``student.banning`` with ``CONVOLUTION_OPS`` or
``POOLING_OPS``: each aten operator that convolves or pools, whatever reaches it (F.conv2d, nn.Conv2d,
torch.ops, a backend's kernel, F.max_pool2d, F.avg_pool2d, adaptive and fractional pooling, ...). Loops,
slicing, ``unfold`` (aten::im2col), ``as_strided`` and ``einsum`` are fair. 8 banned calls for ``conv2d``,
6 for ``max_pool2d``.

``dropout`` is random, so it is checked by what holds for every mask and by counting. Every output element
must be 0 or x / (1 - p) (x drawn in [0.5, 2], never 0), to float rounding; ``training=False`` and ``p = 0``
must give x unchanged. The share of zeros among n = 150,000 elements is compared with p for two secret p,
drawn in [0.15, 0.4] or [0.6, 0.85]: it must lie within RATE_TOL = 0.01 of p. For a correct dropout the
number of zeros is Binomial(n, p), and by Hoeffding's inequality P(|zeros / n - p| > t) <= 2 exp(-2 n t^2):
at t = 0.01 that is 2 exp(-30) = 1.9e-13 per call, 3.7e-13 for the grading's two calls, far below 1e-6. (The
author check asks for half the tolerance, t = 0.005: by the normal approximation, sigma = sqrt(p (1 - p) / n)
<= 0.00126, a correct dropout misses it with probability 8e-5 per call.) The bugs fail for certain, not by
chance: without the 1/(1 - p) scaling the survivors equal x; dropping in eval mode changes x where it must
stay; p taken as the keep probability drops a share of 1 - p, at least 0.2 away from p for the p drawn. Two
calls on the same input must not give the same mask (a correct dropout repeats a mask of 10,000 elements
with probability at most 0.6^10000). The gradient of a call is checked against its own mask: g * output / x.

``batch_norm`` matches F.batch_norm(training=True): per-channel batch mean and the biased variance (dividing
by N H W; the unbiased variance misses by a factor sqrt(n / (n - 1)), 3.5 % on the test's 8 values per
channel), eps inside the square root, values and gradients.

``build_cnn`` must have the notebook's layers (its parameters' shapes in order) and compute, in eval mode,
what the reference's network computes with its weights. ``train_cnn`` is checked on the notebook's locked
``small_cnn`` (no dropout, no batch norm: deterministic), from the same secret start over the same 96 public
images in the same shuffled batches as the reference: after 2 epochs of 3 Adam steps the weights must agree
within rtol = 1e-4, atol = 1e-5 and the losses within rtol = 1e-4, atol = 1e-6 (a04/a05's checks; these run
on the CPU on every host, where a GPU's TF32 convolutions would differ from run to run by more).

The threshold test (docs/suite-authoring.md, section 11): the student's ``build_cnn()`` trained by their
``train_cnn`` for 3 epochs over a secret 2,000 of the 5,000 public training images (batches of 50, a secret
shuffle), on DEVICE ("cuda" where the grader has a GPU, else "cpu"), with the class names permuted by a
secret permutation and, on a secret coin, every image mirrored left to right (clothes look alike mirrored).
A secret 1,000 of the 2,000 hidden test images (``hidden/data``, t10k 0-1999, never under data/),
transformed the same way, go into the kernel; logits come back, which must be what the reference's network
computes with the returned weights in eval mode, and the grader scores them against the labels it keeps.
The accuracy must reach THRESHOLD_LEVEL - THRESHOLD_MARGIN = 0.80 - 0.08 = 0.72. THRESHOLD_LEVEL is the
reference's median accuracy in this very setting, measured over 24 seeds outside the grader (one thread,
CPU; each seed its own training images, test images, class names, mirroring, starting weights and
dropout masks): worst 0.773, median 0.8015, best 0.826. The author check asks the notebook's solution for
0.76 (half the margin) under every seed, 0.013 below the worst measured. A model that does not learn gets
about 0.1; one that looks its inputs up cannot pass the twin check. Sending the images costs more than the
training (1 to 2 s of one core): 2,000 + 1,000 images are 9.4 MB.
"""

import functools
import io
import math
from pathlib import Path

import numpy as np
import torch

from autograder.testing import (
    ComparisonError,
    assert_at_least,
    assert_at_most,
    assert_close,
    assert_gradients_close,
    grade_cell,
    load_catalogue,
    points,
    read_verified,
)

SUITE_VERSION = "a06-1"

MISTAKES = load_catalogue(Path(__file__).with_name("mistakes.py"))

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = ROOT / "data" / "fashion_mnist" / "fashion_public.npz"
PUBLIC_DIGEST = "471db4c145abbf0d05f76927883e9da60d974203ab595adb81bb998443752bdf"
HIDDEN = Path(__file__).with_name("data") / "fashion_test.npz"
HIDDEN_DIGEST = "b7f2e640aeacafed6eee37df496be21158de598ee17d8462314f60ce1c3c1917"

# Every aten operator that convolves, however it is reached (F.conv*, nn.Conv*, conv_transpose*, torch.ops,
# the CPU/CUDA/MKL-DNN/NNPACK/MIOpen/MPS kernels); unfold's aten::im2col and col2im stay fair.
CONVOLUTION_OPS = (
    "aten::convolution", "aten::_convolution", "aten::_convolution_mode", "aten::convolution_overrideable",
    "aten::convolution_backward", "aten::convolution_backward_overrideable", "aten::_convolution_double_backward",
    "aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::conv_transpose1d", "aten::conv_transpose2d",
    "aten::conv_transpose3d", "aten::conv_tbc", "aten::conv_tbc_backward", "aten::_conv_depthwise2d",
    "aten::conv_depthwise3d", "aten::thnn_conv2d", "aten::_slow_conv2d_forward", "aten::_slow_conv2d_backward",
    "aten::slow_conv3d", "aten::slow_conv3d_forward", "aten::slow_conv_dilated2d", "aten::slow_conv_dilated3d",
    "aten::slow_conv_transpose2d", "aten::slow_conv_transpose3d", "aten::_nnpack_spatial_convolution",
    "aten::mkldnn_convolution", "aten::cudnn_convolution", "aten::cudnn_convolution_transpose",
    "aten::cudnn_convolution_relu", "aten::cudnn_convolution_add_relu", "aten::miopen_convolution",
    "aten::miopen_convolution_transpose", "aten::miopen_depthwise_convolution", "aten::miopen_convolution_relu",
    "aten::miopen_convolution_add_relu", "aten::_mps_convolution", "aten::_mps_convolution_transpose",
    "aten::mps_convolution_backward", "aten::mps_convolution_transpose_backward",
)
# Every aten operator that pools (max, average, adaptive, fractional, lp pooling goes through avg_pool).
POOLING_OPS = (
    "aten::max_pool1d", "aten::max_pool1d_with_indices", "aten::max_pool2d", "aten::max_pool2d_with_indices",
    "aten::max_pool2d_backward", "aten::max_pool2d_with_indices_backward", "aten::max_pool3d",
    "aten::max_pool3d_with_indices", "aten::max_pool3d_with_indices_backward", "aten::mkldnn_max_pool2d",
    "aten::mkldnn_max_pool2d_backward", "aten::mkldnn_max_pool3d", "aten::mkldnn_max_pool3d_backward",
    "aten::quantized_max_pool1d", "aten::quantized_max_pool2d", "aten::quantized_max_pool3d",
    "aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool2d_backward", "aten::avg_pool3d",
    "aten::avg_pool3d_backward", "aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d",
    "aten::_adaptive_avg_pool2d", "aten::_adaptive_avg_pool2d_backward", "aten::adaptive_avg_pool3d",
    "aten::_adaptive_avg_pool3d", "aten::_adaptive_avg_pool3d_backward", "aten::adaptive_avg_pool3d_backward",
    "aten::mkldnn_adaptive_avg_pool2d", "aten::mkldnn_adaptive_avg_pool2d_backward", "aten::adaptive_max_pool1d",
    "aten::adaptive_max_pool2d", "aten::adaptive_max_pool2d_backward", "aten::adaptive_max_pool3d",
    "aten::adaptive_max_pool3d_backward", "aten::fractional_max_pool2d", "aten::fractional_max_pool2d_backward",
    "aten::fractional_max_pool3d", "aten::fractional_max_pool3d_backward", "aten::max_unpool2d",
    "aten::max_unpool3d",
)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
DROP_ELEMENTS, RATE_TOL = 150_000, 0.01
THRESHOLD_ROWS, THRESHOLD_TEST, THRESHOLD_EPOCHS, THRESHOLD_BATCH = 2000, 1000, 3, 50
THRESHOLD_LEVEL, THRESHOLD_MARGIN = 0.80, 0.08
LOOP_ROWS, LOOP_BATCH, LOOP_EPOCHS = 96, 32, 2
FLOAT32 = {"rtol": 1e-4, "atol": 1e-4}

CONV_HINT = ("out[n, o, i, j] = bias[o] + sum over c, u, v of x_padded[n, c, i * stride + u, j * stride + v] * "
             "weight[o, c, u, v]: a cross-correlation (the kernel is not flipped), zero padding on all four sides, "
             "output size (H + 2 * padding - kH) // stride + 1")
POOL_HINT = ("the maximum of each kH x kW window, windows starting every stride pixels (stride=None means "
             "stride = kernel_size), no padding: output size (H - kH) // stride + 1")
BN_HINT = ("(x - mean) / sqrt(var + eps) * gamma + beta with the mean and the biased variance (divide by N*H*W, "
           "unbiased=False) of each channel over the batch and both spatial dimensions")
BUILD_HINT = ("nn.Sequential(Conv2d(1, 8, 3, padding=1), BatchNorm2d(8), ReLU(), MaxPool2d(2), "
              "Conv2d(8, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2), Flatten(), Dropout(0.25), "
              "Linear(16 * 7 * 7, 10))")
TRAIN_HINT = ("model.to(device) and model.train(); torch.optim.Adam(model.parameters(), lr=1e-3) and "
              "nn.CrossEntropyLoss(); for each (images, labels) batch of the loader, in its order: move both to "
              "device, zero_grad, forward, loss, backward, step; return each epoch's mean batch loss")
CNN_SHAPES = [(8, 1, 3, 3), (8,), (8,), (8,), (8,), (8,), (), (16, 8, 3, 3), (16,), (16,), (16,), (16,), (16,), (),
              (10, 784), (10,)]
SMALL_SHAPES = [(4, 1, 3, 3), (4,), (10, 196), (10,)]


# ----------------------------------------------------------------------------------------------- helpers

@functools.cache
def _archive(path, sha256):
    with np.load(io.BytesIO(read_verified(path, sha256)), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def public_images():
    """The 5,000 public training images: float32 (n, 1, 28, 28) in [0, 1], int64 labels."""
    data = _archive(PUBLIC, PUBLIC_DIGEST)
    return torch.from_numpy(data["train_images"]).float()[:, None] / 255, torch.from_numpy(data["train_labels"]).long()


def hidden_images():
    """The 2,000 hidden test images (never sent to a kernel with their labels)."""
    data = _archive(HIDDEN, HIDDEN_DIGEST)
    return torch.from_numpy(data["images"]).float()[:, None] / 255, torch.from_numpy(data["labels"]).long()


def seed_from(rng):
    return int(rng.integers(0, 2**31 - 1, ()))


def size(rng, low, high):
    return int(rng.integers(low, high + 1, ()))


def uniform_start(rng, shape, fan_in):
    bound = 1 / math.sqrt(fan_in)
    return rng.uniform(shape, low=-bound, high=bound)


def as_state(value, call):
    if type(value) is not dict:
        raise ComparisonError(f"{call}: model.state_dict() did not come back as a dict of tensors")
    return value


def check_shapes(state, want, call):
    got = [tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__ for value in state.values()]
    if got != want:
        raise ComparisonError(f"{call} -> its parameters and buffers (model.state_dict(), in order) have shapes "
                              f"{got}; expected {want}.\nHint: {BUILD_HINT}")


def twin_of(state, build):
    """The reference's network holding the student's weights, in eval mode."""
    twin = build()
    twin.load_state_dict(dict(zip(twin.state_dict(), state.values(), strict=True)))
    return twin.eval()


# ----------------------------------------------------------------------------------------------- conv2d

def conv_case(rng, n, c_in, c_out, kernel, image, dtype=torch.float32, bias=True):
    x = rng.normal((n, c_in, *image), dtype=dtype)
    weight = rng.normal((c_out, c_in, *kernel), dtype=dtype, std=1 / math.sqrt(c_in * kernel[0] * kernel[1]))
    return x, weight, (rng.normal((c_out,), dtype=dtype) if bias else None)


def check_conv(student, reference, x, weight, bias, stride, padding, hint=CONV_HINT):
    tolerances = FLOAT32 if x.dtype == torch.float32 else {}
    inputs = {"x": x, "weight": weight, "bias": bias, "stride": stride, "padding": padding}
    with MISTAKES.diagnose("conv2d", x, weight, bias, stride, padding):
        got = student.banning(*CONVOLUTION_OPS).conv2d(x, weight, bias, stride, padding)
        assert_close(got, reference.conv2d(x, weight, bias, stride, padding), fn="conv2d", inputs=inputs,
                     hint=hint, **tolerances)


@grade_cell("test_conv2d")
class TestConv2d:
    @points(1)
    def test_three_by_three(self, student, reference, rng):
        case = conv_case(rng, size(rng, 2, 4), size(rng, 2, 4), size(rng, 2, 5), (3, 3), (size(rng, 6, 10),) * 2)
        check_conv(student, reference, *case, 1, 0)

    @points(1)
    def test_padding(self, student, reference, rng):
        k = int(rng.integers(0, 2, ())) * 2 + 3
        case = conv_case(rng, 2, size(rng, 1, 3), size(rng, 2, 4), (k, k), (size(rng, 6, 9), size(rng, 6, 9)))
        check_conv(student, reference, *case, 1, size(rng, 1, 2),
                   hint=CONV_HINT + ": pad x with `padding` zeros on every side first")

    @points(1)
    def test_stride(self, student, reference, rng):
        case = conv_case(rng, 2, size(rng, 1, 3), size(rng, 2, 4), (3, 3), (size(rng, 9, 13), size(rng, 9, 13)))
        check_conv(student, reference, *case, size(rng, 2, 3), 0,
                   hint=CONV_HINT + ": a stride s moves the window s pixels at a time (keep every s-th output)")

    @points(1)
    def test_rectangular_kernels(self, student, reference, rng):
        kernel = (size(rng, 1, 2), size(rng, 3, 4)) if rng.integers(0, 2, ()) else (size(rng, 3, 4), size(rng, 1, 2))
        case = conv_case(rng, 3, 2, 3, kernel, (size(rng, 5, 8), size(rng, 9, 12)))
        check_conv(student, reference, *case, 2, 1,
                   hint=CONV_HINT + ": with kH != kW and H != W, keep rows and columns apart")

    @points(1)
    def test_without_bias(self, student, reference, rng):
        case = conv_case(rng, 2, 3, 2, (3, 3), (7, 8), bias=False)
        check_conv(student, reference, *case, 1, 1, hint=CONV_HINT + "; bias=None adds nothing")

    @points(1)
    def test_float64(self, student, reference, rng):
        case = conv_case(rng, 2, 2, 3, (3, 2), (8, 7), dtype=torch.float64)
        check_conv(student, reference, *case, 2, 2, hint=CONV_HINT + "; float64 inputs give a float64 result")

    @points(1)
    def test_one_image_many_channels(self, student, reference, rng):
        case = conv_case(rng, 1, 8, 6, (3, 3), (size(rng, 5, 7),) * 2)
        check_conv(student, reference, *case, 1, 1,
                   hint=CONV_HINT + ": every output channel sums over all input channels")

    @points(1)
    def test_gradients(self, student, reference, rng):
        x, weight, bias = conv_case(rng, 2, 2, 3, (3, 2), (7, 9), dtype=torch.float64)
        args = (x, weight, bias, 2, 1)
        _, got = student.banning(*CONVOLUTION_OPS).gradients("conv2d", args, wrt=(0, 1, 2))
        _, want = reference.gradients("conv2d", args, wrt=(0, 1, 2))
        assert_gradients_close(got, want, fn="conv2d", inputs={"x": x, "weight": weight, "bias": bias, "stride": 2,
                                                               "padding": 1}, wrt=("x", "weight", "bias"),
                               hint="build the output from torch operations on x, weight and bias (no .item(), "
                                    ".numpy(), .detach() or writing into a torch.zeros buffer under no_grad), so "
                                    "autograd can differentiate it")


# ----------------------------------------------------------------------------------------------- sobel_x

@grade_cell("test_sobel_x")
class TestSobelX:
    @points(1)
    def test_the_lectures_filter(self, student, reference):
        with MISTAKES.diagnose("sobel_x"):
            assert_close(student.sobel_x(), reference.sobel_x(), fn="sobel_x",
                         hint="a float32 tensor (3, 3), every row [1, 0, -1]: bright on the left, dark on the right "
                              "gives a positive answer")


# ----------------------------------------------------------------------------------------------- max_pool2d

def check_pool(student, reference, x, kernel_size, stride=None, hint=POOL_HINT):
    inputs = {"x": x, "kernel_size": kernel_size, "stride": stride}
    with MISTAKES.diagnose("max_pool2d", x, kernel_size, stride):
        got = student.banning(*POOLING_OPS).max_pool2d(x, kernel_size, stride)
        assert_close(got, reference.max_pool2d(x, kernel_size, stride), fn="max_pool2d", inputs=inputs, hint=hint)


@grade_cell("test_max_pool2d")
class TestMaxPool2d:
    @points(1)
    def test_two_by_two(self, student, reference, rng):
        x = rng.normal((size(rng, 1, 3), size(rng, 1, 4), 2 * size(rng, 2, 5), 2 * size(rng, 2, 5)))
        check_pool(student, reference, x, 2)

    @points(1)
    def test_odd_sizes(self, student, reference, rng):
        x = rng.normal((2, 3, 2 * size(rng, 3, 5) + 1, 2 * size(rng, 3, 5) + 1))
        check_pool(student, reference, x, size(rng, 2, 3),
                   hint=POOL_HINT + ": a window that would reach past the edge is left out")

    @points(1)
    def test_overlapping_windows(self, student, reference, rng):
        x = rng.normal((2, 2, size(rng, 7, 10), size(rng, 7, 10)))
        check_pool(student, reference, x, 3, size(rng, 1, 2), hint=POOL_HINT + ": with stride < kernel_size the "
                                                                              "windows overlap")

    @points(1)
    def test_rectangular_windows(self, student, reference, rng):
        x = rng.normal((2, 2, size(rng, 6, 9), size(rng, 8, 11)), dtype=torch.float64)
        check_pool(student, reference, x, (2, 3), hint=POOL_HINT + ": kernel_size may be a pair (kH, kW); then "
                                                                   "the default stride is the pair too")

    @points(1)
    def test_negative_values(self, student, reference, rng):
        x = -rng.uniform((2, 3, 8, 8), low=1.0, high=5.0)
        check_pool(student, reference, x, 2, hint=POOL_HINT + ": every value is negative here, so the maximum "
                                                              "cannot start from 0")

    @points(1)
    def test_gradients(self, student, reference, rng):
        x = rng.normal((2, 2, 8, 6), dtype=torch.float64)  # continuous values: no ties inside a window
        _, got = student.banning(*POOLING_OPS).gradients("max_pool2d", (x, 2), wrt=(0,))
        _, want = reference.gradients("max_pool2d", (x, 2), wrt=(0,))
        assert_gradients_close(got, want, fn="max_pool2d", inputs={"x": x, "kernel_size": 2}, wrt=("x",),
                               hint="the gradient flows to the largest value of each window only: take the max "
                                    "with torch operations (amax, max), not .item() or numpy")


# ----------------------------------------------------------------------------------------------- dropout

def drop_input(rng, n, dtype=torch.float32):
    return rng.uniform((n,), low=0.5, high=2.0, dtype=dtype)


def secret_p(rng):
    p = float(rng.uniform((), low=0.15, high=0.4))
    return round(1 - p if rng.integers(0, 2, ()) else p, 3)


def dropout_output(out, x, p, call):
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ComparisonError(f"{call} -> result of shape {shape}; expected {list(x.shape)} (the input's shape)")
    return out.to(x.dtype)


def check_survivors(out, x, p, call):
    """Every element 0 or x / (1 - p); the named mistake when the survivors are x, x * (1 - p) or x / p."""
    kept = out != 0
    for factor, mistake in ((1.0, "the survivors are not scaled: inverted dropout divides them by (1 - p), so the "
                                  "expected value of each output stays x"),
                            (1 - p, "the survivors are multiplied by (1 - p): they must be divided by it"),
                            (1 / p, "the survivors are divided by p: p is the probability to DROP, so divide by "
                                    "(1 - p), the probability to keep")):
        same = kept.any() and torch.allclose(out[kept], x[kept] * factor, rtol=1e-5, atol=0)
        if same and abs(factor * (1 - p) - 1) > 1e-3:
            raise ComparisonError(f'Likely mistake: {mistake} (notebook section "{DROPOUT_SECTION}")\n{call} -> the '
                                  f"kept values are x * {factor:.3f}; expected x / (1 - p) = x * {1 / (1 - p):.3f}."
                                  "\nHint: return torch.where(mask, x / (1 - p), 0) with "
                                  "mask = torch.rand_like(x) >= p")
    assert_close(out, torch.where(kept, x / (1 - p), torch.zeros((), dtype=x.dtype)), fn="dropout",
                 inputs={"x": x, "p": p, "training": True}, rtol=1e-5, atol=0,
                 hint="each element is either dropped (0) or kept and divided by (1 - p)")


DROPOUT_SECTION = "5. Dropout"


@grade_cell("test_dropout")
class TestDropout:
    @points(1)
    def test_identity_when_not_training(self, student, rng):
        x = rng.normal((size(rng, 20, 40), 10))
        for p in (0.5, secret_p(rng)):
            out = dropout_output(student.dropout(x, p, False), x, p, f"dropout(x, {p}, training=False)")
            if (out == 0).sum() > (x == 0).sum():
                raise ComparisonError(f'Likely mistake: your dropout drops values in eval mode (notebook section '
                                      f'"{DROPOUT_SECTION}")\ndropout(x, {p}, training=False) -> '
                                      f"{int((out == 0).sum())} of {out.numel()} values are 0; expected x unchanged."
                                      "\nHint: when training is False, return x as it is (no mask, no scaling)")
            assert_close(out, x, fn="dropout", inputs={"x": x, "p": p, "training": False}, rtol=0, atol=0,
                         hint="when training is False, dropout returns x unchanged (no mask, no scaling)")

    @points(1)
    def test_p_zero_keeps_everything(self, student, rng):
        x = rng.normal((500,), dtype=torch.float64)
        out = dropout_output(student.dropout(x, 0.0, True), x, 0.0, "dropout(x, 0.0, training=True)")
        assert_close(out, x, fn="dropout", inputs={"x": x, "p": 0.0, "training": True}, rtol=1e-12, atol=0,
                     hint="with p = 0 nothing is dropped and 1 / (1 - p) = 1: x comes back unchanged")

    @points(1)
    def test_drop_rate(self, student, rng):
        for dtype in (torch.float32, torch.float64):
            x, p = drop_input(rng, DROP_ELEMENTS, dtype), secret_p(rng)
            call = f"dropout(x: {DROP_ELEMENTS} values, p={p}, training=True)"
            out = dropout_output(student.dropout(x, p, True), x, p, call)
            rate = (out == 0).double().mean().item()
            if abs(rate - (1 - p)) <= RATE_TOL:
                raise ComparisonError(f'Likely mistake: p is taken as the probability to keep (notebook section '
                                      f'"{DROPOUT_SECTION}")\n{call} -> {rate:.4f} of the values are 0; expected '
                                      f"about p = {p}.\nHint: drop where torch.rand_like(x) < p, keep the rest")
            assert_at_most(abs(rate - p), 0.0, RATE_TOL, fn="dropout", inputs={"x": x, "p": p, "training": True},
                           what="|share of zeros - p|",
                           hint="each value is dropped with probability p, independently: "
                                "mask = torch.rand_like(x) >= p keeps a share 1 - p")

    @points(1)
    def test_survivors_are_scaled(self, student, rng):
        x, p = drop_input(rng, 5000, torch.float64), secret_p(rng)
        call = f"dropout(x, {p}, training=True)"
        check_survivors(dropout_output(student.dropout(x, p, True), x, p, call), x, p, call)

    @points(1)
    def test_a_fresh_mask_each_call(self, student, rng):
        x = drop_input(rng, 10_000)
        call = "dropout(x, 0.4, training=True)"
        first, second = (dropout_output(student.dropout(x, 0.4, True), x, 0.4, call) for _ in range(2))
        if torch.equal(first == 0, second == 0):
            raise ComparisonError(f"{call} twice -> the same values dropped both times; expected a new random mask "
                                  "on every call.\nHint: draw the mask with torch.rand_like(x) inside the function, "
                                  "without setting a seed there (torch.manual_seed belongs to the caller)")

    @points(1)
    def test_gradient_follows_the_mask(self, student, rng):
        x, p = drop_input(rng, 300, torch.float64), secret_p(rng)
        weights = rng.normal((300,), dtype=torch.float64)
        out, (grad,) = student.gradients("dropout", (x, p, True), wrt=(0,), grad_output=weights)
        out = dropout_output(out, x, p, f"dropout(x, {p}, training=True)")
        assert_gradients_close((grad,), (weights * out / x,), fn="dropout", inputs={"x": x, "p": p, "training": True},
                               wrt=("x",), hint="the gradient is g / (1 - p) where a value was kept and 0 where it "
                                                "was dropped: build the output from x with torch operations")


# ----------------------------------------------------------------------------------------------- batch_norm

def bn_case(rng, n, c, h, w, dtype=torch.float32):
    shift, scale = rng.normal((1, c, 1, 1), std=3.0, dtype=dtype), rng.uniform((1, c, 1, 1), 0.5, 4.0, dtype=dtype)
    x = rng.normal((n, c, h, w), dtype=dtype) * scale + shift  # each channel its own mean and spread
    return x, rng.uniform((c,), 0.5, 2.0, dtype=dtype), rng.normal((c,), dtype=dtype)


def check_bn(student, reference, x, gamma, beta, eps=None, hint=BN_HINT):
    extra = {} if eps is None else {"eps": eps}
    tolerances = FLOAT32 if x.dtype == torch.float32 else {}
    with MISTAKES.diagnose("batch_norm", x, gamma, beta, **extra):
        assert_close(student.batch_norm(x, gamma, beta, **extra), reference.batch_norm(x, gamma, beta, **extra),
                     fn="batch_norm", inputs={"x": x, "gamma": gamma, "beta": beta, **extra}, hint=hint, **tolerances)


@grade_cell("test_batch_norm")
class TestBatchNorm:
    @points(1)
    def test_values(self, student, reference, rng):
        check_bn(student, reference, *bn_case(rng, size(rng, 4, 9), size(rng, 2, 6), size(rng, 3, 7), size(rng, 3, 7)))

    @points(1)
    def test_float64_and_eps(self, student, reference, rng):
        x, gamma, beta = bn_case(rng, 5, 3, 4, 4, torch.float64)
        x[:, 1] = x[:, 1] * 1e-3  # a channel of tiny spread, where eps matters
        check_bn(student, reference, x, gamma, beta, eps=1e-3, hint=BN_HINT + ": eps is added to the variance, "
                                                                              "inside the square root")

    @points(1)
    def test_small_batch_biased_variance(self, student, reference, rng):
        check_bn(student, reference, *bn_case(rng, 2, size(rng, 2, 4), 2, 2, torch.float64),
                 hint=BN_HINT + ": only 8 values per channel here, so dividing by n - 1 instead of n shows")

    @points(1)
    def test_one_by_one_images(self, student, reference, rng):
        check_bn(student, reference, *bn_case(rng, size(rng, 6, 12), 4, 1, 1),
                 hint=BN_HINT + ": with 1 x 1 images the statistics run over the batch alone")

    @points(1)
    def test_gradients(self, student, reference, rng):
        x, gamma, beta = bn_case(rng, 4, 3, 3, 3, torch.float64)
        weights = rng.normal(tuple(x.shape), dtype=torch.float64)  # explicit, so a mistake's gradient can be named
        _, got = student.gradients("batch_norm", (x, gamma, beta), wrt=(0, 1, 2), grad_output=weights)
        _, want = reference.gradients("batch_norm", (x, gamma, beta), wrt=(0, 1, 2), grad_output=weights)
        with MISTAKES.diagnose_gradients("batch_norm", (x, gamma, beta), wrt=(0, 1, 2), grad_output=weights):
            assert_gradients_close(got, want, fn="batch_norm", inputs={"x": x, "gamma": gamma, "beta": beta},
                                   wrt=("x", "gamma", "beta"),
                                   hint="compute the mean and variance from x with torch operations (no .item() or "
                                        ".detach()): the gradient flows through them too")


# ----------------------------------------------------------------------------------------------- build_cnn

@grade_cell("test_build_cnn")
class TestBuildCnn:
    @points(1)
    def test_layers(self, student):
        model = student.keep.build_cnn()
        check_shapes(as_state(model.state_dict(), "build_cnn()"), CNN_SHAPES, "build_cnn()")

    @points(1)
    def test_forward_in_eval_mode(self, student, reference, rng):
        model = student.keep.build_cnn()
        state = as_state(model.state_dict(), "build_cnn()")
        check_shapes(state, CNN_SHAPES, "build_cnn()")
        # Secret weights, batch-norm scales, shifts and running statistics: a fresh batch norm in eval mode is
        # nearly the identity, which would let a ReLU placed before it pass.
        secret = [torch.tensor(0) if not shape else (rng.uniform(shape, 0.5, 2.0) if "running_var" in name
                                                     else rng.normal(shape, std=0.5))
                  for name, shape in zip(state, CNN_SHAPES, strict=True)]
        model.load_state_dict(dict(zip(state, secret, strict=True)))
        model.eval()
        images = rng.uniform((5, 1, 28, 28))
        with torch.no_grad():
            want = twin_of(dict(zip(state, secret, strict=True)), reference.build_cnn)(images)
        assert_close(model(images), want, fn="build_cnn()", inputs={"images": images}, what="model.eval()(images)",
                     hint=BUILD_HINT + ": images (b, 1, 28, 28) give logits (b, 10), in this order, no softmax",
                     **FLOAT32)


# ----------------------------------------------------------------------------------------------- train_cnn

def loop_setup(rng):
    images, labels = public_images()
    rows = torch.randperm(len(images), generator=rng.generator)[:LOOP_ROWS]
    start = [uniform_start(rng, (4, 1, 3, 3), 9), uniform_start(rng, (4,), 9), uniform_start(rng, (10, 196), 196),
             uniform_start(rng, (10,), 196)]
    return images[rows], labels[rows], start, seed_from(rng)


def run_loop(side, setup, epochs=LOOP_EPOCHS):
    X, y, start, seed = setup
    model = side.keep.small_cnn()
    state = as_state(model.state_dict(), "small_cnn()")
    if [tuple(v.shape) for v in state.values()] != SMALL_SHAPES:
        raise ComparisonError("small_cnn() is not the notebook's locked network: run the notebook's cells unchanged")
    model.load_state_dict(dict(zip(state, start, strict=True)))
    loader = side.data_loader(X, y, batch_size=LOOP_BATCH, shuffle=True, seed=seed)
    losses = side.train_cnn(model, loader, epochs, "cpu")
    return model, losses


LOOP_INPUTS = {"model": "small_cnn()", "loader": f"{LOOP_ROWS} images in shuffled batches of {LOOP_BATCH}",
               "epochs": LOOP_EPOCHS, "device": "cpu"}


@grade_cell("test_train_cnn")
class TestTrainCnn:
    @points(1)
    def test_one_loss_per_epoch(self, student, rng):
        epochs = size(rng, 1, 3)
        _, losses = run_loop(student, loop_setup(rng), epochs)
        if type(losses) is not list or len(losses) != epochs or not all(
                isinstance(v, float) and math.isfinite(v) for v in losses):
            got = f"a list of {len(losses)} values" if type(losses) is list else f"a {type(losses).__name__}"
            raise ComparisonError(f"train_cnn(small_cnn(), loader, {epochs}, 'cpu') -> got {got}; expected a list of "
                                  f"{epochs} finite Python floats, one per epoch.\nHint: after each epoch append the "
                                  "mean of that epoch's batch losses (loss.item()), and return the list")

    @points(2)
    def test_adam_steps_over_the_loaders_batches(self, student, reference, rng):
        setup = loop_setup(rng)
        mine, _ = run_loop(student, setup)
        theirs, _ = run_loop(reference, setup)
        assert_close(as_state(mine.state_dict(), "train_cnn"), theirs.state_dict(), fn="train_cnn",
                     inputs=LOOP_INPUTS, rtol=1e-4, atol=1e-5, what="model.state_dict()",
                     hint="from the same start over the same batches, six Adam steps must give the same weights. "
                          + TRAIN_HINT + "; train the model you are given, not a copy")

    @points(1)
    def test_loss_curve(self, student, reference, rng):
        setup = loop_setup(rng)
        _, got = run_loop(student, setup)
        _, want = run_loop(reference, setup)
        assert_close(got, want, fn="train_cnn", inputs=LOOP_INPUTS, rtol=1e-4, atol=1e-6, check_dtype=False,
                     what="losses", hint="each epoch's loss is the mean of its batch losses, each taken in the "
                                         "batch's forward pass (before its step). " + TRAIN_HINT)


# ----------------------------------------------------------------------------------------------- hidden clothes

@grade_cell("test_clothing")
class TestClothing:
    @points(3)
    def test_accuracy_on_hidden_clothing_images(self, student, reference, rng):
        images, labels = public_images()
        rows = torch.randperm(len(images), generator=rng.generator)[:THRESHOLD_ROWS]
        test_images, test_labels = hidden_images()
        test_rows = torch.randperm(len(test_images), generator=rng.generator)[:THRESHOLD_TEST]
        X, X_test = images[rows], test_images[test_rows]
        names = torch.randperm(10, generator=rng.generator)
        y, y_test = names[labels[rows]], names[test_labels[test_rows]]  # y_test stays here: only X_test is sent
        if rng.integers(0, 2, ()):
            X, X_test = X.flip(-1), X_test.flip(-1)
        call = f"build_cnn() trained by train_cnn(model, loader, {THRESHOLD_EPOCHS}, {DEVICE!r})"
        model = student.keep.build_cnn()
        check_shapes(as_state(model.state_dict(), "build_cnn()"), CNN_SHAPES, "build_cnn()")
        loader = student.data_loader(X, y, batch_size=THRESHOLD_BATCH, shuffle=True, seed=seed_from(rng))
        student.train_cnn(model, loader, THRESHOLD_EPOCHS, DEVICE)
        model.to("cpu")
        model.eval()
        state = as_state(model.state_dict(), call)
        logits = model(X_test)
        if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(X_test), 10):
            shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise ComparisonError(f"{call}: the trained model's output on {len(X_test)} images has shape {shape}; "
                                  f"expected [{len(X_test)}, 10]")
        with torch.no_grad():
            computed = twin_of(state, reference.build_cnn)(X_test)
        assert_close(logits, computed, fn=call, inputs={"images": X_test}, rtol=1e-4, atol=1e-4,
                     what="model.eval()(images)",
                     hint="the trained model's scores must be what build_cnn's layers compute from its own weights")
        accuracy = (logits.argmax(dim=1) == y_test).double().mean().item()
        assert_at_least(accuracy, THRESHOLD_LEVEL, THRESHOLD_MARGIN, fn=call,
                        inputs={"loader": f"{len(X)} training images in shuffled batches of {THRESHOLD_BATCH}",
                                "epochs": THRESHOLD_EPOCHS, "device": DEVICE},
                        what=f"accuracy on {len(X_test)} hidden clothing images (at least {THRESHOLD_LEVEL} minus "
                             f"{THRESHOLD_MARGIN})",
                        hint="the grader trains your network on public clothing images with the class names "
                             "shuffled by a secret permutation. " + TRAIN_HINT)
