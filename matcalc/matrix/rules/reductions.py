"""Sums over axes: scalars pulled out, outer products and broadcast products
separated, ``Σ_ij δ_ij M_ij = tr M``, sums of ones counted."""

from __future__ import annotations

import functools

from ... import ir
from .. import build as B
from .common import rule, split_scalar


@rule("scalar-out-of-sum", "Σ c A = c Σ A", ["sum"], canonical=True)
def scalar_out_of_sum(e, ctx):
    inner, c = split_scalar(e.args[0])
    return B.mul(c, B.sum_(inner, e.attr("axis"), e.attr("keepdims"))) if c is not None else None


@rule("sum-of-outer", "Σ_i x_i y_j = (1ᵀ x) y_j", ["sum"], canonical=True)
def sum_of_outer(e, ctx):
    a, axis = e.args[0], e.attr("axis")
    if not B.is_op(a, "outer") or e.attr("keepdims"):
        return None
    x, y = a.args
    if axis == 0:
        return B.mul(B.sum_(x), y)
    if axis == 1:
        return B.mul(B.sum_(y), x)
    return None


@rule("separable-sum", "Σ_i c_i r_j = (Σ_i c_i) r_j for a broadcast product", ["sum"], canonical=True)
def separable_sum(e, ctx):
    """``sum(s * M * R, axis=0) -> sum(M) * s * sum(R, axis=0)`` for ``M: [n, 1]``,
    ``R: [1, m]``, ``s: [m]`` (so ``diag(s ∘ r) - s (s ∘ r)ᵀ`` of a saturated softmax is
    exactly 0 in floats, not the rounding of two different sums)."""
    a, axis = e.args[0], e.attr("axis")
    if a.rank != 2 or axis not in (0, 1) or not B.is_op(a, "mul"):
        return None
    factors, stack = [], [a]
    while stack:
        f = stack.pop()
        if B.is_op(f, "mul") and f.rank == 2:
            stack.extend(f.args)
        else:
            factors.append(f)
    padded = {f: (1,) * (2 - f.rank) + tuple(f.shape) for f in factors}
    vary = [f for f in factors if padded[f][axis] != 1]
    keep = [f for f in factors if padded[f][axis] == 1]
    if not vary or not keep or any(padded[f][1 - axis] != 1 for f in vary):
        return None
    out = B.sum_(functools.reduce(B.mul, vary))
    out = functools.reduce(B.mul, [B.sum_(f, axis) if f.rank == 2 else f for f in keep], out)
    return out if out.shape == e.shape else None


@rule("sum-of-identity-product", "Σ_ij δ_ij M_ij = tr M; Σ_ij δ_ij c_i = Σ_i c_i", ["sum"], cookbook="11")
def sum_of_identity_product(e, ctx):
    a = e.args[0]
    if not (e.attr("axis") is None and B.is_op(a, "mul") and a.rank == 2
            and (B.is_eye(a.args[0]) or B.is_eye(a.args[1]))):
        return None
    other = a.args[1] if B.is_eye(a.args[0]) else a.args[0]
    if other.shape == a.shape:
        return B.call("trace", other)
    if other.rank >= 1:          # a column c (a row, a vector) broadcast against δ
        return B.sum_(other)
    return None


@rule("sum-of-sum", "Σ_i Σ_j M_ij = sum(M)", ["sum"])
def sum_of_sum(e, ctx):
    a = e.args[0]
    if e.attr("axis") is None and B.is_op(a, "sum") and a.args[0].rank == 2:
        return B.sum_(a.args[0])
    return None


@rule("sum-of-ones", "Σ_ij 1 = n m; Σ_j 1 = m", ["sum"], canonical=True)
def sum_of_ones(e, ctx):
    a, axis = e.args[0], e.attr("axis")
    if not B.is_ones(a):
        return None
    count: ir.Expr = B.ONE
    for i, d in enumerate(a.shape):
        if axis is None or i == axis:
            count = B.mul(count, B.dim_scalar(d))
    return B.mul(count, B.ones(e.shape)) if e.shape else count


@rule("sum-of-diag-product", "Σ_j (diag(v) M)_ij = v_i Σ_j M_ij; Σ_i (M diag(v))_ij = v_j Σ_i M_ij", ["sum"])
def sum_of_diag_product(e, ctx):
    a, axis = e.args[0], e.attr("axis")
    if not (B.is_op(a, "matmul") and a.rank == 2 and axis in (0, 1)) or e.attr("keepdims"):
        return None
    d, m = (a.args[0], a.args[1]) if axis == 1 else (a.args[1], a.args[0])
    if B.is_op(d, "diag") and d.args[0].rank == 1:
        return B.mul(d.args[0], B.sum_(m, axis))
    return None


RULES = (scalar_out_of_sum, sum_of_diag_product, sum_of_outer, separable_sum, sum_of_identity_product, sum_of_sum, sum_of_ones)
