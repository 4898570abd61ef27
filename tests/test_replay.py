"""The ban's verdict by replay: honest "implement it yourself" code in any style passes, hiding from the recorder fails.

The kernel's side (`calling.invoke` with ``record_ops``) runs here in-process, and its result crosses the
wire codec as it would from a kernel; the grader's side (`replay.verify_call`) judges it. The hostile
self-test's ``banned_ops`` category runs the same attacks through real kernels and nbgrader.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import _disable_current_modes, _get_current_dispatch_mode

from autograder.grading.replay import MAX_OPS, TraceError, verify_call
from autograder.grading.replay_ops import allowed, new_bytes
from autograder.sandbox import wire
from autograder.sandbox.calling import invoke
from autograder.sandbox.messages import StudentCodeError

CONV_OPS = ("aten::convolution", "aten::_convolution", "aten::conv2d")
POOL_OPS = ("aten::max_pool2d", "aten::max_pool2d_with_indices")


def kernel_result(fn, args, wrt=(), grad_output=None):
    """What a kernel would send back for a banned call of ``fn``: its result, trace and operator names."""
    return wire.decode(wire.encode(invoke(fn, args, {}, wrt, grad_output, record_ops=True)))


def judge(fn, args, reference, banned=CONV_OPS, wrt=(), grad_output=None):
    result = kernel_result(fn, args, wrt, grad_output)
    verify_call(fn.__name__, result, args, {}, banned, wrt=wrt, grad_output=grad_output,
                reference=lambda a, k: reference(*a, **k))
    return result


# ----------------------------------------------------------------- honest code, several styles


def conv_loops(x, w, b=None):
    n, _, h, width = x.shape
    out = torch.zeros(n, w.shape[0], h - w.shape[2] + 1, width - w.shape[3] + 1, dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, :, i:i + w.shape[2], j:j + w.shape[3]]
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, w)
    return out if b is None else out + b.view(1, -1, 1, 1)


def conv_unfold(x, w, b=None):
    columns = F.unfold(x, w.shape[2:])
    out = (w.reshape(w.shape[0], -1) @ columns).reshape(x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1, -1)
    return out if b is None else out + b[None, :, None, None]


def conv_strided(x, w, b=None):
    n, c, h, width = x.shape
    kh, kw = w.shape[2:]
    s = x.stride()
    windows = x.as_strided((n, c, h - kh + 1, width - kw + 1, kh, kw), (s[0], s[1], s[2], s[3], s[2], s[3]))
    out = torch.einsum("nchwij,ocij->nohw", windows, w)
    return out if b is None else out + b[None, :, None, None]


def conv_scalar_loops(x, w, b=None):
    out = torch.zeros(x.shape[0], w.shape[0], x.shape[2] - w.shape[2] + 1, x.shape[3] - w.shape[3] + 1,
                      dtype=x.dtype)
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    out[n, o, i, j] = (x[n, :, i:i + w.shape[2], j:j + w.shape[3]] * w[o]).sum()
    return out


def pool_unfold(x, k):
    n, c, h, width = x.shape
    return x.unfold(2, k, k).unfold(3, k, k).reshape(n, c, h // k, width // k, k * k).amax(dim=-1)


def pool_mask(x, k):  # a data-dependent style: the maxima picked by a boolean mask
    windows = x.unfold(2, k, k).unfold(3, k, k).reshape(*x.shape[:2], x.shape[2] // k, x.shape[3] // k, k * k)
    best = windows == windows.amax(dim=-1, keepdim=True)
    return torch.where(best, windows, torch.full_like(windows, -torch.inf)).amax(dim=-1)


@pytest.mark.parametrize("style", [conv_loops, conv_unfold, conv_strided, conv_scalar_loops])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_honest_convolutions_pass_values_and_gradients(style, dtype):
    x, w = torch.randn(2, 3, 6, 7, dtype=dtype), torch.randn(4, 3, 3, 2, dtype=dtype)
    result = judge(style, (x, w), F.conv2d)
    torch.testing.assert_close(result["output"], F.conv2d(x, w))
    grad_output = torch.randn(2, 4, 4, 6, dtype=dtype)
    judge(style, (x, w), F.conv2d, wrt=(0, 1), grad_output=grad_output)


@pytest.mark.parametrize("style", [pool_unfold, pool_mask])
def test_honest_pooling_passes(style):
    x = torch.randn(2, 3, 6, 8)
    judge(style, (x, 2), F.max_pool2d, banned=POOL_OPS, wrt=(0,), grad_output=torch.randn(2, 3, 3, 4))


def test_a_wrong_answer_is_left_to_the_test():
    # No bias: wrong, but honestly computed: the verdict stands aside and the test's comparison fails it.
    x, w, b = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3), torch.randn(3)
    judge(lambda x, w, b: conv_unfold(x, w), (x, w, b), F.conv2d)


def test_a_detached_result_leaves_the_missing_gradient_to_the_test():
    def conv_no_grad(x, w):
        with torch.no_grad():
            return conv_unfold(x, w)

    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    result = judge(conv_no_grad, (x, w), F.conv2d, wrt=(0, 1), grad_output=torch.randn(1, 3, 3, 3))
    assert result["grads"] == (None, None)


# ----------------------------------------------------------------- hiding from the recorder


def conv_out_of_sight(x, w):
    with _disable_current_modes():
        out = F.conv2d(x, w)
    return out


def conv_values_put_back(x, w):
    with _disable_current_modes():
        values = F.conv2d(x.detach(), w.detach()).tolist()
    return torch.tensor(values, dtype=x.dtype) + 0 * x.sum()


def conv_record_rewritten(x, w):
    recorder = _get_current_dispatch_mode()
    out = F.conv2d(x, w)
    recorder.lines[:] = [line.replace("aten::convolution", "aten::mul") for line in recorder.lines]
    recorder.ops.clear()
    return out


def conv_record_emptied(x, w):
    out = F.conv2d(x, w)
    _get_current_dispatch_mode().lines.clear()
    _get_current_dispatch_mode().ops.clear()
    return out


@pytest.mark.parametrize(("style", "message"), [
    (conv_out_of_sight, "does not follow from the operations your code ran"),
    (conv_values_put_back, "does not follow from the operations your code ran"),
    (conv_record_rewritten, "could not replay"),
    (conv_record_emptied, "none of its operations made"),
])
def test_results_computed_out_of_the_recorders_sight_fail(style, message):
    x, w = torch.randn(2, 3, 6, 7), torch.randn(4, 3, 3, 2)
    with pytest.raises(TraceError, match=message):
        judge(style, (x, w), F.conv2d)
    with pytest.raises(TraceError, match=r"not those of the operations|could not replay|none of its|does not follow"):
        judge(style, (x, w), F.conv2d, wrt=(0, 1), grad_output=torch.randn(2, 4, 4, 6))


def test_an_operator_off_the_allowlist_fails_even_unbanned():
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    with pytest.raises(StudentCodeError, match="used a banned operator aten::convolution"):
        judge(F.conv2d, (x, w), F.conv2d)
    with pytest.raises(TraceError, match="aten::avg_pool2d is not an operator such exercises allow"):
        judge(lambda x, k: F.avg_pool2d(x, k) * 0 + pool_unfold(x, k), (x, 2), F.max_pool2d, banned=POOL_OPS)
    assert allowed("aten::add_") and allowed("aten::im2col") and not allowed("aten::convolution")
    assert not allowed("student::doubled") and not allowed("aten::bernoulli_")


def test_a_forged_record_is_refused_with_a_reason():
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    honest = kernel_result(conv_unfold, (x, w))

    def verdict(edit):
        forged = {**honest, "trace": {**honest["trace"]}}
        edit(forged["trace"])
        verify_call("conv2d", forged, (x, w), {}, CONV_OPS, reference=lambda a, k: F.conv2d(*a, **k))

    bomb = json.dumps(["aten::zeros", "default", [[100000, 100000]], {"d": []}, {"t": 10**6}])
    cases = {
        "would allocate": lambda t: t.update(lines=t["lines"] + "\n" + bomb),
        "more than the grader can replay": lambda t: t.update(truncated=True),
        "malformed": lambda t: t.update(lines=t["lines"] + "\n[[[["),
        "no overload": lambda t: t.update(lines=t["lines"].replace('"default"', '"nonesuch"', 1)),
        "does not replay": lambda t: t.update(lines=t["lines"] + '\n["aten::add","Tensor",[{"t":0},'
                                              '{"complex":"1j"}],{"d":[]},{"t":99}]'),
    }
    for message, edit in cases.items():
        with pytest.raises(TraceError, match=message):
            verdict(edit)
    with pytest.raises(TraceError, match="no record of the operations"):
        verify_call("conv2d", {"output": honest["output"]}, (x, w), {}, CONV_OPS)
    assert MAX_OPS >= 50_000  # room for a loop over every output element of the suites' inputs


def test_without_a_reference_the_students_function_on_other_inputs_is_the_measure():
    x, w = torch.randn(2, 3, 6, 7), torch.randn(4, 3, 3, 2)
    for style, passes in ((conv_unfold, True), (conv_out_of_sight, False)):
        result = kernel_result(style, (x, w))
        def call(a, k, s=style):
            return s(*a, **k)

        if passes:
            verify_call("conv2d", result, (x, w), {}, CONV_OPS, student=call)
        else:
            with pytest.raises(TraceError, match="does not follow"):
                verify_call("conv2d", result, (x, w), {}, CONV_OPS, student=call)


def test_operators_are_sized_before_they_run_without_the_meta_device_where_rules_allow():
    x, w = torch.randn(2, 3, 9, 7), torch.randn(5, 4)
    cases = [("aten::im2col", [x, [3, 2], [1, 2], [1, 0], [2, 1]], F.unfold(x, (3, 2), dilation=(1, 2), padding=(1, 0),
                                                                             stride=(2, 1))),
             ("aten::constant_pad_nd", [x, [1, 2, 3, 4], 0.0], F.pad(x, (1, 2, 3, 4))),
             ("aten::mm", [w, w.T], w @ w.T),
             ("aten::mul", [x, x[:1, :1, :1, :1]], x * x[:1, :1, :1, :1]),
             ("aten::zeros", [[4, 6]], torch.zeros(4, 6))]
    for name, args, result in cases:
        assert new_bytes(name, args, {}) >= result.numel() * result.element_size(), name
    assert new_bytes("aten::permute", [x, [0, 2, 1, 3]], {}) == 0  # a view allocates nothing
    assert new_bytes("aten::repeat", [x, [1000, 1000]], {}) is None  # sized on the meta device instead
