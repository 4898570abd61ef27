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
