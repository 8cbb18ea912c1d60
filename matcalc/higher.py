"""Second derivatives and derivatives past two axes, around the sweeps of
:mod:`matcalc.differentiate`: the shapes of the vec convention, the direction and
the Hessian-vector product of an order-2 result, the mixed second derivative, and
the symmetric form for a symbol declared ``symmetric`` or ``spd``.

* ``∂ F / ∂ X`` with more than two axes is ``∂ vec F / ∂ (vec X)ᵀ``, ``[size(F), size(X)]``;
* ``H vec(dS)`` is the gradient of ``G : dS`` (H is symmetric), never H itself;
* ``∂² J / ∂ vec W1 ∂ (vec W2)ᵀ`` is the Jacobian of ``∂J/∂W1`` w.r.t. ``W2``;
* along symmetric directions only the symmetric part counts: ``(H + Hᵀ) / 2`` and
  ``sym(H vec(dS))`` agree with H there, and are the symmetric ones.
"""

from __future__ import annotations

from . import ir
from .differentiate import backprop, jacobian
from .matrix import build as B
from .matrix.algebra import budget
from .matrix.rules.common import is_symmetric
from .matrix.simplify import restore_shape, simplify
from .shapes import Shape, shape_size

SYMMETRIC = ("symmetric", "spd")


def vec_shape(out: Shape, inp: Shape) -> Shape:
    """The shape of ``∂ out / ∂ inp``: ``out + inp`` up to two axes, else the 2-D
    ``[size(out), size(inp)]`` of the vec convention (``∂ vec F / ∂ (vec X)ᵀ``)."""
    if not out or not inp or len(out) + len(inp) <= 2:
        return tuple(out) + tuple(inp)
    return (shape_size(out), shape_size(inp))


def direction(taken: set[str], sym: ir.Symbol) -> ir.Symbol:
    """The direction of a Hessian-vector product: ``d`` + the symbol's name, with
    trailing underscores until no name in ``taken`` has it (``dW_``); the symbol's
    props but ``constant`` (a direction of a symmetric S is symmetric)."""
    return ir.Symbol(sym.shape, ir.free_name("d" + sym.name, taken), frozenset(p for p in sym.props if p in SYMMETRIC + ("diagonal",)))


def hvp(gradient: ir.Expr, sym: ir.Symbol, d: ir.Symbol) -> ir.Expr:
    """``H vec(dS)`` with the shape of S, never the Hessian: the gradient of ``G : dS``
    (``H`` is symmetric, so ``∂(G : dS)/∂S = Hᵀ dS = H dS``); for a symmetric S its
    symmetric part."""
    with budget():
        inner = B.sum_(B.mul(gradient, d)) if sym.rank else B.mul(gradient, d)
        out = B.ZERO if B.is_zero(gradient) else simplify(backprop(inner, sym))
        if B.is_zero(out):
            return B.zeros(sym.shape)
        out = restore_shape(out, sym.shape)
        return symmetric_part(out, sym) if sym.rank == 2 else out


def symmetric(S: ir.Symbol) -> bool:
    return any(p in S.props for p in SYMMETRIC)


def symmetric_part(M: ir.Expr, S: ir.Symbol) -> ir.Expr:
    """``(M + Mᵀ) / 2`` for a symmetric S unless M is symmetric already; else M."""
    if not symmetric(S) or M.rank != 2 or is_symmetric(M):
        return M
    return restore_shape(simplify(B.div(B.add(M, B.T(M)), B.num(2))), M.shape)


def mixed(gradient: ir.Expr, sym: ir.Symbol, terms: list) -> tuple[ir.Expr, Shape]:
    """``∂² J / ∂ vec W1 ∂ (vec W2)ᵀ`` raw (the Jacobian of W1's gradient w.r.t. W2) and
    its shape ``[size(W1), size(W2)]``; the recognizer's terms appended to ``terms``."""
    with budget():
        raw = jacobian(gradient, sym, simplify, terms) if not B.is_zero(gradient) else B.ZERO
    return raw, vec_shape(gradient.shape, sym.shape)
