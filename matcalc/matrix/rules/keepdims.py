"""Reductions that keep their axis (``keepdims=True``): a product with a column or a
row of ones is a sum along an axis, kept with size 1, as numpy code writes it."""

from __future__ import annotations

from ... import ir
from .. import build as B
from ...ops import OPS
from ..algebra import is_elementwise
from .common import rule


@rule("ones-product-is-kept-sum", "A 1 = sum(A, axis=1, keepdims=True); 1ᵀ A = sum(A, axis=0, keepdims=True)",
      ["matmul"])
def ones_product_is_kept_sum(e, ctx):
    """``(A ∘ X) @ ones(m, 1) → sum(A * X, axis=1, keepdims=True)`` (the row sums, a
    column ``[n, 1]``); ``ones(1, n) @ M → sum(M, axis=0, keepdims=True)``."""
    a, b = e.args
    if e.rank != 2 or a.rank != 2 or b.rank != 2:
        return None
    if B.is_ones(b) and b.shape[1] == 1 and not B.is_ones(a):
        return B.sum_(a, 1, keepdims=True)
    if B.is_ones(a) and a.shape[0] == 1 and not B.is_ones(b):
        return B.sum_(b, 0, keepdims=True)
    return None




def _kept(v: ir.Expr, axis: int) -> ir.Expr | None:
    """``sum(M, axis=k)`` as ``sum(M, axis=k, keepdims=True)``, for a matrix M."""
    if isinstance(v, ir.Apply) and "keepdims" in OPS[v.op].params and v.args[0].rank == 2 and v.attr("axis") == axis and not v.attr("keepdims"):
        attrs = dict(v.attrs)
        attrs["keepdims"] = True
        return ir.apply(v.op, list(v.args), attrs)
    return None


@rule("broadcast-outer-is-kept-reduction", "A - r 1ᵀ = A - sum(M, axis=1, keepdims=True) for r = sum(M, axis=1) "
      "(an outer product with ones, broadcast against a matrix, is the reduction kept)",
      ["add", "sub", "mul", "div"])
def broadcast_outer_is_kept_reduction(e, ctx):
    """``G - outer(sum(P, axis=1), ones(n)) → G - sum(P, axis=1, keepdims=True)`` where the
    other operand is a matrix of the result's shape (so the column broadcasts back)."""
    if e.rank != 2:
        return None
    args = list(e.args)
    for k, (x, other) in enumerate(((args[0], args[1]), (args[1], args[0]))):
        if other.shape != e.shape or not B.is_op(x, "outer"):
            continue
        v, w = x.args
        kept = _kept(v, 1) if B.is_ones(w) else _kept(w, 0) if B.is_ones(v) else None
        if kept is not None:
            args[k] = kept
            return ir.apply(e.op, args, dict(e.attrs))
    return None


def _centred(a: ir.Expr, axis) -> bool:
    """Whether ``a`` is ``A - mean(A, axis=k, keepdims=True)`` (or its negation) for this
    axis k (``A - mean(A)`` when everything is reduced)."""
    if not B.is_op(a, "sub"):
        return False
    for x, m in (a.args, a.args[::-1]):
        if B.is_op(m, "mean") and ir.digest(m.args[0]) == ir.digest(x) and m.attr("axis") == axis \
                and (axis is None or m.attr("keepdims") or x.rank == 1):
            return True
    return False


@rule("centred-sums-to-zero", "Σ_j (A_ij - mean_k A_ik) = 0: a centred matrix sums to 0 along its axis",
      ["sum", "mean"])
def centred_sums_to_zero(e, ctx):
    """``sum(X - mean(X, axis=1, keepdims=True), axis=1) → 0`` (also ``mean``, kept or not)."""
    if not _centred(e.args[0], e.attr("axis")):
        return None
    return B.zeros(e.shape) if e.shape else B.ZERO


def _constant_along(x: ir.Expr, axis: int, rank: int) -> bool:
    """Whether ``x`` broadcast in a ``rank``-2 product is constant along ``axis``
    (a scalar, a ``[n, 1]`` column for axis 1, a ``[1, m]`` row or a ``[m]`` vector for axis 0)."""
    padded = (1,) * (rank - x.rank) + tuple(x.shape)
    return padded[axis] == 1


@rule("kept-sum-of-broadcast-factor", "Σ_j c_i M_ij = c_i Σ_j M_ij for a factor c constant along j "
      "(sum(c * M, axis=1, keepdims=True) = c * sum(M, axis=1, keepdims=True) for c: [n, 1])", ["sum"])
def kept_sum_of_broadcast_factor(e, ctx):
    """``sum(c * ones(n, m), axis=1, keepdims=True) → c * sum(ones(n, m), ...) = m * c``."""
    a, axis = e.args[0], e.attr("axis")
    if not (e.attr("keepdims") and B.is_op(a, "mul", "div") and a.rank == 2):
        return None
    x, y = a.args
    if B.is_op(a, "div"):
        if y.rank and _constant_along(y, axis, 2) and x.rank == 2 and not _constant_along(x, axis, 2):
            return _same_shape(B.div(B.sum_(x, axis, keepdims=True), y), e)
        return None
    for c, m in ((x, y), (y, x)):
        if c.rank and _constant_along(c, axis, 2) and m.rank == 2 and not _constant_along(m, axis, 2):
            return _same_shape(B.mul(c, B.sum_(m, axis, keepdims=True)), e)
    return None


def _same_shape(out: ir.Expr, e: ir.Expr) -> ir.Expr | None:
    return out if out.shape == e.shape else None


def _constant_matrix(a: ir.Expr) -> ir.Expr | None:
    """``c`` when ``a`` is a scalar ``c`` broadcast over ones (``c * ones(m, n)``), else None."""
    if B.is_op(a, "mul"):
        x, y = a.args
        for c, o in ((x, y), (y, x)):
            if c.rank == 0 and B.is_ones(o):
                return c
    return None


@rule("reduction-of-a-constant", "mean(c 1 1ᵀ) = c (every entry is c; its var and std are "
      "spread-of-equal-entries)", ["mean"])
def reduction_of_a_constant(e, ctx):
    """``mean(minimum(s, 1) * ones(m, n)) → minimum(s, 1)``: so ``c - mean(c 1 1ᵀ)`` is 0."""
    c = _constant_matrix(e.args[0])
    if c is None:
        return None
    return c if not e.shape else B.mul(c, B.ones(e.shape))


def same_along(e: ir.Expr, axis: int) -> bool:
    """Whether every entry of ``e`` is the same along ``axis`` by its structure (for a
    vector, axis 0: all its entries): ``c * ones(m, n)``, a ``[m, 1]`` column broadcast,
    ``(a * ones(m, n)).T @ t`` (each entry ``Σ_i a_i t_i``), functions of such."""
    if e.rank == 0 or e.shape[axis] == 1 or B.is_ones(e):
        return True
    if not isinstance(e, ir.Apply):
        return False
    if e.op == "transpose":
        return same_along(e.args[0], 1 - axis if e.args[0].rank == 2 else axis)
    if e.op == "matmul":
        a, b = e.args
        if a.rank == 2 and b.rank == 2:
            return same_along(a, 0) if axis == 0 else same_along(b, 1)
        return same_along(a, 0) if a.rank == 2 else same_along(b, 1) if b.rank == 2 else False
    if is_elementwise(e):
        for x in e.args:          # an argument of lower rank is broadcast along the leading axes
            at = axis - (e.rank - x.rank)
            if at >= 0 and not same_along(x, at):
                return False
        return True
    return False


@rule("spread-of-equal-entries", "var(x) = std(x) = 0 and x - mean(x) = 0 where the entries of x are equal "
      "by its structure ((a 1ᵀ)ᵀ t = (aᵀ t) 1)", ["var", "std", "sub"])
def spread_of_equal_entries(e, ctx):
    """``std((c * ones(m, n)).T @ t) → 0``: a 0 that divides shows the 0/0 it is."""
    if e.op == "sub":
        x, m = e.args
        if B.is_op(m, "mean") and m.attr("axis") is None and m.args[0] == x and x.rank == 1 and same_along(x, 0):
            return B.zeros(x.shape)
        return None
    x, axis = e.args[0], e.attr("axis")
    axes = range(x.rank) if axis is None else [axis % max(x.rank, 1)]
    if x.rank and all(same_along(x, k) for k in axes):
        return B.zeros(e.shape) if e.shape else B.ZERO
    return None


RULES = (reduction_of_a_constant, spread_of_equal_entries, ones_product_is_kept_sum, broadcast_outer_is_kept_reduction, centred_sums_to_zero, kept_sum_of_broadcast_factor)
REGION = (broadcast_outer_is_kept_reduction,)
