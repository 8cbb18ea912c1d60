"""Emission algebra: the cheaper equal forms a person would write, applied to the IR
of every root of a function (the value and each derivative) before common
subexpressions are found, so the work they leave is shared.

``(A + Aᵀ) x`` in a gradient becomes ``A x + x A`` and shares ``x A`` with the value
``x A x``; ``sum((X P) ∘ X)`` becomes ``sum(P ∘ (Xᵀ X))`` and shares the Gram ``Xᵀ X``
with the gradient.  The rules are the :func:`matcalc.ops.code_rewrite` records
(``matcalc rules`` style data: name, identity, root op, apply); print-time
:class:`~matcalc.ops.EmitRule` records cannot share, since what they print is not
seen by :func:`matcalc.codegen.emit.shared_nodes`.
"""

from __future__ import annotations

from .. import ir
from ..ops import CODE_REWRITES
from .numerics import bottom_up

# A rewrite's output is rewritten again, at most this many times per node (each rule
# shrinks the work; the bound only guards against two rules undoing each other).
ROUNDS = 8


def faster(expr: ir.Expr) -> ir.Expr:
    """``expr`` with every code rewrite applied, bottom-up, to a fixed point: same
    value, less work (``(A + B) @ x -> A @ x + B @ x``, ``logdet(P) -> 2 Σ log diag
    chol(P)`` for an spd ``P``, ...)."""
    memo: dict[ir.Expr, ir.Expr] = {}
    depth = [0]

    def rewrite(e: ir.Apply) -> ir.Expr:
        for rule in CODE_REWRITES.get(e.op, ()):
            new = rule.apply(e)
            if new is not None and new != e and depth[0] < ROUNDS:
                depth[0] += 1
                try:
                    return bottom_up(new, rewrite, memo)
                finally:
                    depth[0] -= 1
        return e

    return bottom_up(expr, rewrite, memo)


def fired(expr: ir.Expr) -> list[str]:
    """The names of the code rewrites that change some node of ``expr`` (for tests
    and the benchmark's listing)."""
    return sorted({rule.name for e in ir.distinct(expr) if isinstance(e, ir.Apply)
                   for rule in CODE_REWRITES.get(e.op, ()) if rule.apply(e) not in (None, e)})
