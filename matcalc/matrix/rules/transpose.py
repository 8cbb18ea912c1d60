"""Transposes, pushed to the leaves: ``(A B)ᵀ = Bᵀ Aᵀ``, ``(A + B)ᵀ = Aᵀ + Bᵀ``,
``f(A)ᵀ = f(Aᵀ)`` where that removes a transpose, ``Sᵀ = S`` for a symmetric form;
and, the other way, a sum of transposed terms folded back under one transpose
when that is shorter (``Xᵀ Bᵀ + Bᵀ Xᵀ = (B X + X B)ᵀ``)."""

from __future__ import annotations

from ... import ir
from ...ops import OPS
from .. import build as B
from ..rewrite import size
from .common import is_symmetric, rule, terms, transposes


@rule("transpose-vector", "vᵀ = v (a vector or a scalar, as numpy)", ["transpose"])
def transpose_vector(e, ctx):
    return e.args[0] if e.args[0].rank < 2 else None


@rule("transpose-symmetric-form", "Aᵀ = A for I, diag(v), AᵀA, A + Aᵀ, S₁ + S₂, inv(S), c S",
      ["transpose"])
def transpose_symmetric_form(e, ctx):
    a = e.args[0]
    return a if is_symmetric(a) else None


@rule("transpose-product", "(A B)ᵀ = Bᵀ Aᵀ", ["transpose"], cookbook="5", canonical=True)
def transpose_product(e, ctx):
    a = e.args[0]
    if not B.is_op(a, "matmul"):
        return None
    x, y = a.args
    return B.matmul(B.T(y), B.T(x))


@rule("transpose-scaled", "(A ∘ B)ᵀ = Aᵀ ∘ Bᵀ, (c A)ᵀ = c Aᵀ, where that removes a transpose", ["transpose"],
      canonical=True)
def transpose_scaled(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "mul", "div") and all(x.rank in (0, 2) for x in a.args)):
        return None
    return _if_fewer_transposes(B.call(a.op, *(B.T(x) for x in a.args)), e, ctx)


@rule("transpose-elementwise", "f(A)ᵀ = f(Aᵀ), (Aᵖ)ᵀ = (Aᵀ)ᵖ, (-A)ᵀ = -Aᵀ, where that removes a transpose",
      ["transpose"], canonical=True)
def transpose_elementwise(e, ctx):
    a = e.args[0]
    if not isinstance(a, ir.Apply):
        return None
    if a.op == "neg" or (a.op != "pow" and OPS[a.op].elementwise and a.rank == 2
                         and all(x.rank in (0, 2) for x in a.args)):     # any arity: maximum(A, B)ᵀ
        pushed = B.call(a.op, *(B.T(x) for x in a.args))
    elif a.op == "pow" and a.args[0].rank == 2:
        pushed = B.power(B.T(a.args[0]), a.args[1])
    else:
        return None
    if a.op == "neg":
        return pushed
    return _if_fewer_transposes(pushed, e, ctx)


@rule("transpose-simple", "(Aᵀ)ᵀ = A, (x yᵀ)ᵀ = y xᵀ, onesᵀ = ones, (-A)ᵀ = -Aᵀ", ["transpose"])
def transpose_simple(e, ctx):
    out = B.T(e.args[0])
    return None if B.is_op(out, "transpose") and out.args[0] is e.args[0] else out


def _if_fewer_transposes(pushed, e, ctx):
    """Into an elementwise function only when that removes a transpose: tanh(XW)ᵀ
    stays, tanh(Xᵀ)ᵀ becomes tanh(X)."""
    settled = ctx.settle(pushed)
    return settled if transposes(settled) < transposes(e) else None


def _folded(t: ir.Expr) -> ir.Expr | None:
    """``t`` as the transpose of something no longer: Xᵀ Bᵀ -> (B X), Aᵀ -> A."""
    if B.is_op(t, "transpose"):
        return t.args[0]
    if B.is_op(t, "matmul") and t.rank == 2:
        x, y = t.args
        fx, fy = _folded(x), _folded(y)
        if fx is not None and fy is not None:
            return B.matmul(fy, fx)
    return None


@rule("fold-transposes", "Xᵀ Bᵀ + Bᵀ Xᵀ = (B X + X B)ᵀ, when shorter", ["add", "sub"], cookbook="4")
def fold_transposes(e, ctx):
    if e.rank != 2 or not all(x.shape == e.shape for x in e.args):
        return None
    parts = terms(e)
    if len(parts) < 2 or any(t.shape != e.shape for _, t in parts):
        return None
    inner = []
    for s, t in parts:
        f = _folded(t)
        if f is None:
            return None
        inner.append((s, f))
    out = inner[0][1] if inner[0][0] > 0 else B.neg(inner[0][1])
    for s, f in inner[1:]:
        out = B.add(out, f) if s > 0 else B.sub(out, f)
    out = B.T(out)
    return out if size(out) < size(e) else None


@rule("transpose-sum", "(A + B)ᵀ = Aᵀ + Bᵀ, unless every term comes out transposed", ["transpose"],
      cookbook="4", canonical=True)
def transpose_sum(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "add", "sub") and all(x.rank in (0, 2) for x in a.args)):
        return None
    pushed = ctx.settle(B.call(a.op, *(B.T(x) for x in a.args)))
    # (B X + X B)ᵀ stays: pushed, fold-transposes would fold it back
    return None if B.is_op(pushed, "add", "sub") and fold_transposes.apply(pushed, ctx) is not None else pushed


RULES = (transpose_vector, transpose_symmetric_form, transpose_product, transpose_sum, transpose_scaled,
         transpose_elementwise)
RULES = RULES + (transpose_simple,)
REGION = (fold_transposes,)
