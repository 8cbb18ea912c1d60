"""Rules inside an elementwise result (after sympy's algebra): broadcast vectors
written as numpy broadcasts them, and common matrix factors pulled out of sums
(``A x + Aᵀ x = (A + Aᵀ) x``)."""

from __future__ import annotations

from ... import ir
from .. import build as B
from ..algebra import term_key
from .common import chain, product, rule, terms


def _row_spread(x: ir.Expr) -> bool:
    return B.is_op(x, "outer") and B.is_ones(x.args[0])


@rule("spread-rows", "M - 1 wᵀ = M - w: numpy broadcasts a [m] vector along rows", ["add", "sub", "mul", "div"])
def spread_rows(e, ctx):
    if e.rank != 2:
        return None
    a, b = e.args
    if any(B.is_op(x, "eye", "diag", "outer") for x in (a, b) if not _row_spread(x)):
        return None   # diag(s) - outer(ones, s) stays structured, so products with it distribute
    if _row_spread(b) and a.shape == e.shape:
        return B.call(e.op, a, b.args[1])
    if _row_spread(a) and b.shape == e.shape:
        return B.call(e.op, a.args[1], b)
    return None


@rule("spread-product", "1 wᵀ ∘ M = w ∘ M (rows broadcast); v 1ᵀ ∘ M = diag(v) M", ["mul"])
def spread_product(e, ctx):
    if e.rank != 2:
        return None
    for spread, other in ((e.args[0], e.args[1]), (e.args[1], e.args[0])):
        if B.is_op(spread, "outer") and other.shape == e.shape:
            v, w = spread.args
            if B.is_ones(v):
                return B.mul(w, other)
            if B.is_ones(w):
                return ctx.settle(B.matmul(B.call("diag", v), other))
    return None


def signed_sum(parts: list[tuple[int, ir.Expr]]) -> ir.Expr:
    """The terms added up in canonical order: positive ones first, each by :func:`term_key`."""
    parts = sorted(parts, key=lambda st: (st[0] < 0, term_key(st[1])))
    out = None
    for s, t in parts:
        if out is None:
            out = t if s > 0 else B.neg(t)
        else:
            out = B.add(out, t) if s > 0 else B.sub(out, t)
    return out


@rule("factor-matmuls", "A x + Aᵀ x = (A + Aᵀ) x; Xᵀ S - Xᵀ Y = Xᵀ (S - Y)", ["add", "sub"], canonical=True)
def factor_matmuls_rule(e, ctx):
    out = factor_matmuls(e)
    return None if out is e else out


def factor_matmuls(e: ir.Expr) -> ir.Expr:
    parts = terms(e)
    if len(parts) < 2:
        return e
    for side in (-1, 0):
        # grouped by the common factor and the shape of what is left: A @ c and
        # v @ c (A a matrix, v a vector, both times c) do not add up inside
        groups: dict[tuple, list[int]] = {}
        for i, (_, t) in enumerate(parts):
            ch = chain(t)
            if len(ch) >= 2:
                left = product(ch[:-1] if side == -1 else ch[1:])
                groups.setdefault((ch[side], left.shape), []).append(i)
        best = max(groups.items(), key=lambda kv: len(kv[1]), default=None)
        if best is None or len(best[1]) < 2:
            continue
        (common, _), idx = best
        rest = []
        for i in idx:
            s, t = parts[i]
            ch = chain(t)
            rest.append((s, product(ch[:-1] if side == -1 else ch[1:])))
        inner = factor_matmuls(signed_sum(rest))
        factored = B.matmul(inner, common) if side == -1 else B.matmul(common, inner)
        others = [parts[i] for i in range(len(parts)) if i not in idx]
        return factor_matmuls(signed_sum([(1, factored)] + others)) if others else factored
    return e


RULES = (spread_rows, factor_matmuls_rule, spread_product)
