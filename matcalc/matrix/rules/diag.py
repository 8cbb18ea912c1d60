"""Inverses of simple forms, and ``diag``: of a vector, a diagonal matrix; of a square matrix, its diagonal, read
through the products that keep it simple."""

from __future__ import annotations

from .. import build as B
from .common import rule, split_scalar


@rule("inverse-of-identity", "I⁻¹ = I", ["inv"])
def inverse_of_identity(e, ctx):
    return e.args[0] if B.is_eye(e.args[0]) else None


@rule("inverse-of-diag", "diag(v)⁻¹ = diag(1 / v)", ["inv"], canonical=True)
def inverse_of_diag(e, ctx):
    a = e.args[0]
    if B.is_op(a, "diag") and a.args[0].rank == 1:
        return B.call("diag", B.div(B.ONE, a.args[0]))
    return None


@rule("inverse-of-transpose", "(Aᵀ)⁻¹ = (A⁻¹)ᵀ", ["inv"], cookbook="3")
def inverse_of_transpose(e, ctx):
    a = e.args[0]
    return B.T(B.call("inv", a.args[0])) if B.is_op(a, "transpose") else None


@rule("diag-of-ones", "diag(1) = I", ["diag"])
def diag_of_ones(e, ctx):
    a = e.args[0]
    return B.eye(a.shape[0]) if a.rank == 1 and B.is_ones(a) else None


def _diagonal(e):
    a = e.args[0]
    return a if e.op == "diag" and a.rank == 2 else None


@rule("diagonal-of-diag", "diag(diag(v)) = v; diag(1 1ᵀ) = diag(I) = 1", ["diag"])
def diagonal_of_diag(e, ctx):
    a = _diagonal(e)
    if a is None:
        return None
    if B.is_op(a, "diag"):
        return a.args[0]
    if B.is_ones(a) or B.is_eye(a):
        return B.ones((a.shape[0],))
    return None


@rule("diag-of-negation", "diag(-v) = -diag(v)", ["diag"])
def diag_of_negation(e, ctx):
    v = e.args[0]
    return B.neg(B.call("diag", v.args[0])) if v.rank == 1 and B.is_op(v, "neg") else None


@rule("diagonal-of-outer", "diag(x yᵀ) = x ∘ y", ["diag"])
def diagonal_of_outer(e, ctx):
    a = _diagonal(e)
    return B.mul(a.args[0], a.args[1]) if a is not None and B.is_op(a, "outer") else None


@rule("diagonal-linear", "diag(Aᵀ) = diag(A), diag(A ± B) = diag(A) ± diag(B), diag(c A) = c diag(A)",
      ["diag"], canonical=True)
def diagonal_linear(e, ctx):
    a = _diagonal(e)
    if a is None:
        return None
    if B.is_op(a, "transpose"):
        return B.call("diag", a.args[0])
    if B.is_op(a, "neg"):
        return B.neg(B.call("diag", a.args[0]))
    if B.is_op(a, "add", "sub") and all(x.shape == a.shape for x in a.args):
        return B.call(a.op, B.call("diag", a.args[0]), B.call("diag", a.args[1]))
    inner, c = split_scalar(a)
    if c is not None:
        return B.mul(c, B.call("diag", inner))
    return None


@rule("diagonal-of-product", "diag(X Zᵀ) = Σ_j X_ij Z_ij; diag(A diag(v)) = diag(A) ∘ v", ["diag"],
      canonical=True)
def diagonal_of_product(e, ctx):
    a = _diagonal(e)
    if a is None or not B.is_op(a, "matmul"):
        return None
    x, y = a.args
    if B.is_op(y, "transpose") and y.args[0].shape == x.shape and x.rank == 2:
        z = y.args[0]
        return B.sum_(z if B.is_ones(x) else B.mul(x, z), 1)
    if B.is_op(y, "diag") and y.args[0].rank == 1:
        return B.mul(B.call("diag", x), y.args[0])
    if B.is_op(x, "diag") and x.args[0].rank == 1:
        return B.mul(x.args[0], B.call("diag", y))
    return None


RULES = (inverse_of_identity, inverse_of_diag, inverse_of_transpose, diag_of_ones, diagonal_of_diag, diag_of_negation,
         diagonal_of_outer,
         diagonal_linear, diagonal_of_product)
