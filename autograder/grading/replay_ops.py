"""The aten operators a replayed trace may run (`replay`): plain tensor arithmetic, nothing that does a layer's work.

An exercise that bans operators ("write conv2d without a convolution
operator") is graded by replaying the student's trace in the grader, and
only these operators replay. The list is the toolbox such exercises allow:
pointwise arithmetic and comparisons, reductions, matrix products, views,
indexing, padding, ``unfold``/``im2col`` and ``as_strided``, and the
factories. Convolutions, pooling, normalisation, softmax and loss kernels,
random numbers, and any operator outside the ``aten`` namespace (a custom op
registered by the student, say) are not on it, so a trace that ran one fails
whatever the suite bans; the suite's own ban list names what the student is
told (and can ban operators of this list too: ``aten::mm`` for "matrix
product by hand").

In-place and ``out=`` forms of a listed operator (``aten::add_``) replay too.
"""

from __future__ import annotations

import math

import torch

_POINTWISE = """
abs absolute acos acosh add addcdiv addcmul angle asin asinh atan atan2 atanh bitwise_and bitwise_not bitwise_or
bitwise_xor ceil clamp clamp_max clamp_min clip copysign cos cosh deg2rad div divide eq erf erfc erfinv exp exp2
expm1 fill float_power floor floor_divide fmax fmin fmod frac ge gt hypot isfinite isinf isnan isneginf isposinf
le lerp lgamma log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor lt maximum
minimum mul multiply nan_to_num ne neg negative pow rad2deg reciprocal remainder round rsqrt rsub sgn sigmoid sign
signbit sin sinh sqrt square sub subtract tan tanh true_divide trunc where xlogy zero relu threshold masked_fill
heaviside one_hot gelu silu elu leaky_relu hardtanh softplus
"""
_REDUCTIONS = """
all amax amin aminmax any argmax argmin count_nonzero cummax cummin cumprod cumsum logcumsumexp logsumexp max
mean median min nanmean nansum norm linalg_vector_norm prod std std_mean sum var var_mean sort argsort topk kthvalue
mode msort
"""
_PRODUCTS = "addbmm addmm addmv addr baddbmm bmm dot einsum inner matmul mm mv outer tensordot vdot kron"
_SHAPES = """
alias as_strided as_strided_scatter broadcast_to cat chunk clone col2im concat concatenate constant_pad_nd
contiguous detach diag diag_embed diagonal diagonal_scatter expand expand_as flatten flip fliplr flipud hsplit
hstack im2col index index_add index_copy index_fill index_put index_reduce index_select gather masked_scatter
masked_select movedim moveaxis narrow narrow_copy nonzero pad permute ravel repeat reshape _reshape_alias roll rot90
scatter scatter_add scatter_reduce select select_scatter slice slice_scatter split split_with_sizes squeeze stack
swapaxes swapdims t take take_along_dim tile transpose tril triu unbind unflatten unfold unsqueeze view view_as
vsplit vstack _unsafe_view _to_copy to type_as copy lift_fresh lift_fresh_copy resolve_conj resolve_neg
_local_scalar_dense item tensor_split dsplit dstack column_stack row_stack atleast_1d atleast_2d atleast_3d
"""
_FACTORIES = """
arange empty empty_like empty_strided eye full full_like linspace logspace new_empty new_empty_strided new_full
new_ones new_zeros ones ones_like scalar_tensor zeros zeros_like tensor
"""

ALLOWED_OPS = frozenset(f"aten::{name}" for block in (_POINTWISE, _REDUCTIONS, _PRODUCTS, _SHAPES, _FACTORIES)
                        for name in block.split())

# Operators whose results' size depends on the data: no meta kernel can size them before they run, and their
# results are bounded by their inputs' (a mask selects at most every element).
DATA_DEPENDENT_OPS = frozenset({"aten::nonzero", "aten::masked_select", "aten::_local_scalar_dense", "aten::item",
                                "aten::index", "aten::index_put"})


def allowed(name: str) -> bool:
    """Whether operator ``name`` (``aten::add_`` counts as ``aten::add``) may run in a replay."""
    return name in ALLOWED_OPS or (name.endswith("_") and not name.endswith("__") and name[:-1] in ALLOWED_OPS)


# Sizing without the meta device (whose first use imports torch's meta registrations and sympy: 1.7 s per
# grader process) for the operators honest traces are made of. `new_bytes` gives an upper bound of the memory
# an operator allocates, or None where only a meta run can tell.
_VIEWS = frozenset(f"aten::{name}" for name in """
alias as_strided detach diagonal expand expand_as lift_fresh movedim narrow permute select slice split
split_with_sizes squeeze t transpose unbind unflatten unfold unsqueeze view view_as _reshape_alias
""".split())
_LIKE_INPUTS = frozenset(f"aten::{name}" for name in (_POINTWISE + _REDUCTIONS).split() + """
clone contiguous _to_copy to copy lift_fresh_copy _unsafe_view empty_like zeros_like ones_like full_like
type_as resolve_conj resolve_neg _local_scalar_dense item
""".split()) - frozenset({"aten::sort", "aten::topk", "aten::kthvalue", "aten::mode", "aten::aminmax"})
_FACTORIES_BY_SIZE = {"aten::zeros": 0, "aten::ones": 0, "aten::empty": 0, "aten::full": 0, "aten::new_zeros": 1,
                      "aten::new_ones": 1, "aten::new_empty": 1, "aten::new_full": 1}
_ITEM_BYTES = 8  # the largest element of the dtypes a replay decodes


def new_bytes(name: str, args: list, kwargs: dict) -> int | None:
    """An upper bound of the bytes operator ``name`` allocates on these arguments; None: size it on meta."""
    base = name.removesuffix("_") if name.endswith("_") and not name.endswith("__") else name
    if base in _VIEWS:
        return 0
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    if base in _LIKE_INPUTS and tensors:
        try:
            return _ITEM_BYTES * math.prod(torch.broadcast_shapes(*(t.shape for t in tensors)))
        except RuntimeError:
            return _ITEM_BYTES * max(t.numel() for t in tensors)
    position = _FACTORIES_BY_SIZE.get(base)
    if position is not None and len(args) > position and _ints(args[position]):
        return _ITEM_BYTES * math.prod(args[position])
    if base == "aten::constant_pad_nd" and len(args) >= 2 and isinstance(args[0], torch.Tensor):
        return _padded_bytes(args[0], args[1])
    if base == "aten::im2col" and len(args) == 5 and isinstance(args[0], torch.Tensor):
        return _columns_bytes(args[0], *args[1:])
    if base in ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm"):
        first, second = args[-2:] if base.startswith("aten::add") or base.startswith("aten::badd") else args[:2]
        if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor) and first.dim() >= 2:
            return _ITEM_BYTES * math.prod(first.shape[:-1]) * second.shape[-1]
    return None


def _ints(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(type(v) is int and v >= 0 for v in value)


def _padded_bytes(tensor: torch.Tensor, pad: object) -> int | None:
    if not isinstance(pad, (list, tuple)) or len(pad) % 2 or len(pad) // 2 > tensor.dim() or not all(
            type(p) is int for p in pad):
        return None
    shape = list(tensor.shape)
    for i in range(len(pad) // 2):
        shape[-1 - i] += pad[2 * i] + pad[2 * i + 1]
    return _ITEM_BYTES * math.prod(shape) if min(shape, default=0) >= 0 else None


def _columns_bytes(tensor: torch.Tensor, kernel: object, dilation: object, padding: object,
                   stride: object) -> int | None:
    """F.unfold's (N, C * kH * kW, L) columns."""
    pairs = [kernel, dilation, padding, stride]
    if tensor.dim() not in (3, 4) or not all(_ints(p) and len(p) == 2 for p in pairs) or 0 in stride:
        return None
    blocks = 1
    for axis in range(2):
        size = tensor.shape[-2 + axis] + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
        blocks *= max(size // stride[axis] + 1, 0)
    return _ITEM_BYTES * math.prod(tensor.shape[:-2]) * kernel[0] * kernel[1] * blocks
