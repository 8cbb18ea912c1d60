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
from ..matrix import build as B
from ..ops import CODE_REWRITES
from .numerics import bottom_up, share_logs

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


def shared_forms(roots: list[ir.Expr]) -> list[ir.Expr]:
    """The roots of one function, each product spelled one way wherever it is needed, so
    that common subexpressions find it: ``share_logs`` (``softmax(A)`` as
    ``exp(log_softmax(A))`` where both are needed), then ``Bᵀ Aᵀ = (A B)ᵀ`` where ``A B``
    is computed anyway (the attention head's ``K = X @ Wk`` and its gradients'
    ``Wk.T @ X.T``: the softmax was computed twice).  Only there: elsewhere ``Bᵀ Aᵀ``
    stays, since OpenBLAS is sensitive to the layout of its operands (a transposed view
    multiplied can be slower)."""
    roots = share_logs(roots)
    products = {n for n in ir.distinct(*roots) if B.is_op(n, "matmul") and n.rank == 2}

    def spelled(e: ir.Apply) -> ir.Expr:
        if e.op == "matmul" and e.rank == 2 and all(B.is_op(f, "transpose") and f.rank == 2 for f in e.args):
            product = B.matmul(e.args[1].args[0], e.args[0].args[0])
            if product in products:
                return B.T(product)
        return e

    memo: dict[ir.Expr, ir.Expr] = {}
    return [bottom_up(r, spelled, memo) for r in roots]
