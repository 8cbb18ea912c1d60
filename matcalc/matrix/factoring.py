"""Terms that share a factor, read as one product: the recognizer reads a linear
map term by term (:mod:`.contraction`), and a sum of terms that all end in the
same ``diag`` is written once with it factored out:

    Σ_t diag(α_t) M_t diag(β_t ∘ w) = (Σ_t diag(α_t) M_t diag(β_t)) diag(w)

(``diag(w ∘ v) = diag(v) diag(w)``, ``outer(x, w ∘ y) = outer(x, y) diag(w)``);
likewise on the left.  The factored form is taken when it has fewer operations,
so ``diag(p) - outer(p, p)`` is ``(I - p 1ᵀ) diag(p)`` once ``p`` is long enough.

>>> from matcalc.ir import Symbol
>>> from matcalc.render.text import to_text
>>> from matcalc.matrix import build as B
>>> p = B.call("exp", B.call("sin", B.call("cos", B.call("tanh", Symbol(("n",), "x")))))
>>> terms = [Reading([], [p], [], B.eye("n"), ("n", "n")), Reading([B.num(-1)], [p], [p], None, ("n", "n"))]
>>> to_text(grouped(terms))
'(eye(n) - outer(exp(sin(cos(tanh(x)))), ones(n))) @ diag(exp(sin(cos(tanh(x)))))'
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from . import build as B
from .contraction import Reading, product, scaled


def grouped(readings: list[Reading]) -> ir.Expr:
    """The sum of the terms, a ``diag`` factor common to all of them taken out
    (right side first, then left) when that writes fewer operations."""
    plain = _sum(readings)
    if len(readings) < 2:
        return plain
    right = _common([r.right + r.left if r.diagonal() else r.right for r in readings])
    stripped = [_strip(r, right, "right") for r in readings]
    left = _common([r.left + r.right if r.diagonal() else r.left for r in stripped])
    stripped = [_strip(r, left, "left") for r in stripped]
    scale = _common([r.scalars for r in stripped]) if right or left else []
    stripped = [_without_scalars(r, scale) for r in stripped]
    if not right and not left:
        return plain
    out = _sum(stripped)
    if right:
        out = B.matmul(out, B.call("diag", product(right)))
    if left:
        out = B.matmul(B.call("diag", product(left)), out)
    out = scaled(scale, out) if scale else out
    return out if _ops(out) < _ops(plain) else plain


def _without_scalars(r: Reading, scale: list[ir.Expr]) -> Reading:
    rest = list(r.scalars)
    for c in scale:
        rest.remove(c)
    return replace(r, scalars=rest)


def _sum(readings: list[Reading]) -> ir.Expr:
    out = B.ZERO
    for r in readings:
        out = B.add(out, r.expr())
    return out


def _ops(e: ir.Expr) -> int:
    return ir.tree_size(e, count=lambda n: isinstance(n, ir.Apply))


def _common(sides: list[list[ir.Expr]]) -> list[ir.Expr]:
    """The factors every side has (a multiset intersection, in the first side's order)."""
    common = list(sides[0])
    for side in sides[1:]:
        rest = list(side)
        kept = []
        for f in common:
            if f in rest:
                rest.remove(f)
                kept.append(f)
        common = kept
    return common


def _strip(r: Reading, factors: list[ir.Expr], side: str) -> Reading:
    """``r`` without ``factors`` on ``side`` (a diagonal term gives them from either side)."""
    if not factors:
        return r
    first, second = (list(r.right), list(r.left)) if side == "right" else (list(r.left), list(r.right))
    for f in factors:
        (first if f in first else second).remove(f)
    return replace(r, right=first, left=second) if side == "right" else replace(r, left=first, right=second)
