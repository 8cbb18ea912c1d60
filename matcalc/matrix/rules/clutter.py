"""Clutter a careful person never writes (issue 14): identity factors built from
``eye``, and a number that multiplies a product and divides one of its factors.

The other two forms of the issue are a fact and an existing rule: ``Xᵀ S X`` is
symmetric when ``S`` is (:func:`.common.is_symmetric`, a congruence), so
``inv(Xᵀ A X)ᵀ`` is ``inv(Xᵀ A X)`` for a symmetric ``A`` and the like terms merge;
a term and its equal twin merge by ``sums.like-terms``.
"""

from __future__ import annotations

from fractions import Fraction

from ... import ir
from .. import build as B
from .common import chain, product, rule, split_scalar


@rule("sum-of-eye", "Σ_j δ_ij = 1: sum(eye(n), axis=1) = ones(n); Σ_ij δ_ij = n", ["sum"], canonical=True)
def sum_of_eye(e, ctx):
    """``diag(sum(eye(n), axis=1)) @ S`` is ``diag(ones(n)) @ S``, which is ``S``."""
    a = e.args[0]
    if not B.is_eye(a):
        return None
    if e.attr("axis") is not None:
        return B.ones(e.shape)
    n = B.dim_scalar(a.shape[0])
    return B.mul(n, B.ones(e.shape)) if e.shape else n


@rule("trace-of-eye", "tr(I_n) = n", ["trace"], canonical=True)
def trace_of_eye(e, ctx):
    a = e.args[0]
    return B.dim_scalar(a.shape[0]) if B.is_eye(a) else None


def _number(c: ir.Expr | None):
    """The value of a numeric coefficient (1 for none), or None for a symbolic one."""
    if c is None:
        return Fraction(1)
    return c.value if isinstance(c, ir.Number) else None


def _numbers_out(factors: list[ir.Expr]):
    """The factors of a product with their numeric coefficients taken out, and the
    product of those numbers (None when a coefficient is not a number)."""
    coefficient, out = Fraction(1), []
    for f in factors:
        g, c = split_scalar(f)
        v = _number(c)
        if v is None:
            return None, factors
        coefficient *= v
        out.append(g)
    return coefficient, out


@rule("cancel-common-number", "c A (B ⊘ (c C)) = A (B ⊘ C): a number that scales a product and divides one "
      "of its factors entrywise cancels (2 X (1 ⊘ (2 √M)) = X (1 ⊘ √M))", ["matmul", "mul"])
def cancel_common_number(e, ctx):
    if e.rank == 0:
        return None
    inner, c = split_scalar(e)
    outside = _number(c)
    if outside is None or not B.is_op(inner, "matmul"):
        return None
    inside, factors = _numbers_out(chain(inner))
    if inside is None or outside * inside == 1:
        return None
    coefficient = outside * inside
    for i, f in enumerate(factors):
        if not (B.is_op(f, "div") and f.args[1].rank > 0):
            continue
        den, k = split_scalar(f.args[1])
        k = _number(k) if k is not None else None
        if not k:
            continue
        factors = factors[:i] + [B.div(f.args[0], den)] + factors[i + 1:]
        rest = product(factors)
        scale = coefficient / k
        return rest if scale == 1 else B.mul(B.num(scale), rest)
    return None


RULES = (sum_of_eye, trace_of_eye, cancel_common_number)
REGION = (cancel_common_number,)     # c * (A @ B) is elementwise at its root: the region rules see it
