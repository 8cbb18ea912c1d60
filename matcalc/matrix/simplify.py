"""Tidy a matrix-form result until it reads as a careful person writes it.

The identities are named rules (:mod:`.rules`, one module per topic: transposes,
products, reductions, diag, scalars, prop facts, sums); the engine
(:mod:`.rewrite`) applies them bottom-up to a fixed point, runs sympy's algebra
over maximal elementwise subtrees, and logs every firing as a
:class:`~.rule.Step`.  ``matcalc rules`` lists them.
"""

from __future__ import annotations

from .. import ir
from .rewrite import restore_shape, rewrite
from .rule import Fact, Step
from .rules import ruleset
from .rules.common import is_symmetric, split_scalar
from .rules.common import terms as _terms

__all__ = ["Fact", "Step", "_terms", "is_symmetric", "restore_shape", "simplify", "split_scalar"]


def simplify(expr: ir.Expr, notes: list | None = None, log: list | None = None) -> ir.Expr:
    """The tidied form of ``expr`` (same value, same shape).  The declared props it
    used are appended to ``notes`` (:class:`Fact`, once each); every rule that fired
    is appended to ``log`` (:class:`Step`: ``step.rule.name``, ``before``, ``after``)."""
    out = rewrite(expr, ruleset(), log=log, notes=notes)
    return restore_shape(out, expr.shape)
