"""Scalar functions of matrices and rows: ``tr(c A) = c tr(A)``, ``det(A B) = det(A) det(B)``,
``softmax(A + c) = softmax(A)``."""

from __future__ import annotations

from ... import ir
from .. import build as B
from .common import chain, is_square, rule, split_scalar


@rule("trace-of-scaled", "tr(c A) = c tr(A) for a scalar c", ["trace"])
def trace_of_scaled(e, ctx):
    inner, c = split_scalar(e.args[0])
    return B.mul(c, B.call("trace", inner)) if c is not None else None


@rule("softmax-shift", "softmax(A + c) = softmax(A), log_softmax(A + c) = log_softmax(A) for a scalar c",
      ["softmax", "log_softmax"])
def softmax_shift(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "add", "sub") and a.rank >= 1):
        return None
    x, y = a.args
    if y.rank == 0:
        return B.call(e.op, x, **dict(e.attrs))
    if x.rank == 0 and a.op == "add":
        return B.call(e.op, y, **dict(e.attrs))
    return None


def _det_factors(x: ir.Expr):
    """``det(P₁ ⋯ P_k)`` with square factors: the Ps; else None."""
    if not (B.is_op(x, "det") and B.is_op(x.args[0], "matmul")):
        return None
    ps = chain(x.args[0])
    return ps if all(is_square(p) for p in ps) else None


def _factors(x: ir.Expr) -> list[ir.Expr]:
    if B.is_op(x, "mul"):
        return _factors(x.args[0]) + _factors(x.args[1])
    return [x]


@rule("det-product", "det(A B) = det(A) det(B) for square A, B: det(A B) / det(B) = det(A)", ["div"],
      cookbook="21")
def det_product(e, ctx):
    """A determinant of a product over the determinant of one of its end factors."""
    num, den = e.args
    tops, bottoms = _factors(num), _factors(den)
    for i, top in enumerate(tops):
        ps = _det_factors(top)
        for j, bottom in enumerate(bottoms if ps else ()):
            if not B.is_op(bottom, "det"):
                continue
            for k in (0, -1):
                if ps[k] == bottom.args[0]:
                    rest = ps[1:] if k == 0 else ps[:-1]
                    kept = tops[:i] + [B.call("det", _chain_of(rest))] + tops[i + 1:]
                    left = bottoms[:j] + bottoms[j + 1:]
                    out = _product_of(kept)
                    return B.div(out, _product_of(left)) if left else out
    return None


def _chain_of(ps):
    out = ps[0]
    for p in ps[1:]:
        out = B.matmul(out, p)
    return out


def _product_of(fs):
    out = fs[0]
    for f in fs[1:]:
        out = B.mul(out, f)
    return out


@rule("zeros-is-zero", "zeros(n, m) = 0 ones(n, m): the zero matrix, which annihilates what it multiplies",
      ["zeros"], canonical=True)
def zeros_is_zero(e, ctx):
    return B.zeros(e.shape)


RULES = (trace_of_scaled, softmax_shift, zeros_is_zero)
REGION = (det_product,)
