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
>>> p = B.call("sigmoid", B.call("sin", B.call("cos", B.call("tanh", Symbol(("n",), "x")))))
>>> terms = [Reading([], [p], [], B.eye("n"), ("n", "n")), Reading([B.num(-1)], [p], [p], None, ("n", "n"))]
>>> to_text(grouped(terms))
'(eye(n) - outer(sigmoid(sin(cos(tanh(x)))), ones(n))) @ diag(sigmoid(sin(cos(tanh(x)))))'
"""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..ops import OPS
from . import build as B
from .contraction import Reading, product, scaled


def grouped(readings: list[Reading]) -> ir.Expr:
    """The sum of the terms, the terms that share a ``diag`` factor written as one
    product with it taken out (:func:`factored`), where that writes fewer operations:
    the factor shared by the group that saves the most is taken first, and the
    terms left are grouped again."""
    plain = _sum(readings)
    if len(readings) < 2:
        return plain
    best, best_group = _ops(plain), None
    for f in _candidates(readings):
        group = [r for r in readings if any(f in side for side in _sides(r))]
        if len(group) < 2:
            continue
        rest = [r for r in readings if not any(r is g for g in group)]
        ops = _ops(factored(group)) + _ops(_sum(rest)) + (1 if rest else 0)
        if ops < best:
            best, best_group = ops, group
    if best_group is None:
        return plain
    rest = [r for r in readings if not any(r is g for g in best_group)]
    return B.add(factored(best_group), grouped(rest))


def _sides(r: Reading) -> tuple[list[ir.Expr], list[ir.Expr]]:
    """The factors that may stand on the right, and those on the left, of ``r``."""
    if r.diagonal():
        return r.right + r.left, r.left + r.right
    return r.right, r.left


def _candidates(readings: list[Reading]) -> list[ir.Expr]:
    """Every distinct factor on a side of some term that may be taken out, in the order
    first seen."""
    out: list[ir.Expr] = []
    for r in readings:
        for f in r.right + r.left:
            if f not in out and not _may_overflow(f):
                out.append(f)
    return out


def factored(readings: list[Reading]) -> ir.Expr:
    """The sum of the terms with the ``diag`` factors common to all of them taken out
    (right side first, then left) and then their common scalars; the plain sum when
    that is no shorter."""
    plain = _sum(readings)
    if len(readings) < 2:
        return plain
    right = _safe(_common([r.right + r.left if r.diagonal() else r.right for r in readings]))
    stripped = [_strip(r, right, "right") for r in readings]
    left = _safe(_common([r.left + r.right if r.diagonal() else r.left for r in stripped]))
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


def _sum(readings: list[Reading]) -> ir.Expr:
    out = B.ZERO
    for r in readings:
        out = B.add(out, r.expr())
    return out


def _ops(e: ir.Expr) -> int:
    return ir.tree_size(e, count=lambda n: isinstance(n, ir.Apply))


# ``X diag(c)`` evaluates ``0 · c`` off the diagonal: NaN where ``c`` overflows to inf, when
# the terms written out are finite.  A factor that may overflow (an op of these outside any
# op whose values lie in [0, 1], as its record says) is left in its terms.
OVERFLOWING = ("exp",)


def _may_overflow(f: ir.Expr) -> bool:
    stack, seen = [f], set()
    while stack:
        e = stack.pop()
        if id(e) in seen or (isinstance(e, ir.Apply) and OPS[e.op].range == "unit"):
            continue
        seen.add(id(e))
        if B.is_op(e, *OVERFLOWING):
            return True
        stack.extend(e.children())
    return False


def _safe(factors: list[ir.Expr]) -> list[ir.Expr]:
    return [f for f in factors if not _may_overflow(f)]


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


def _without_scalars(r: Reading, scale: list[ir.Expr]) -> Reading:
    rest = list(r.scalars)
    for c in scale:
        rest.remove(c)
    return replace(r, scalars=rest)
