"""What the simplifier knows, as data: :class:`Rule` (a named identity), :class:`Step`
(one firing of a rule, the derivation's log) and :class:`Fact` (a declared prop a
rule relied on).  Printers and the steps read these records; they never import the
simplifier itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import ir


@dataclass(frozen=True)
class Rule:
    """One rewrite rule: ``identity`` as a person writes it (``diag(x yᵀ) = x ∘ y``),
    the ops at the root of its left side (``roots``), ``apply(node, ctx)`` giving the
    right side or None when the node does not match (``ctx``: :class:`.rewrite.Context`),
    the props it needs (``requires``), the Matrix Cookbook equation where there is one,
    and ``canonical``: the rule may make the form larger written out (it moves it to
    the canonical form, ``(A B)ᵀ → Bᵀ Aᵀ``); any other rule fires only when the form
    does not grow."""

    name: str
    identity: str
    roots: tuple[str, ...]
    apply: Callable[[Any], Any] = None
    requires: tuple[str, ...] = ()
    cookbook: str = ""
    canonical: bool = False


@dataclass(frozen=True)
class Fact:
    """A declared prop the tidy pass used: ``onehot`` / ``stochastic`` (rows of
    ``subject`` sum to 1), ``symmetric`` (``subjectᵀ = subject``), ``orthogonal``
    (``subjectᵀ subject = I``)."""

    kind: str
    subject: ir.Expr


@dataclass(frozen=True)
class Step:
    """One firing of ``rule``: ``before`` became ``after``; ``fact`` is the declared
    prop it relied on, if any.  ``step.rule.name`` names it (``transpose-product``);
    :func:`matcalc.matrix.rules.rule_named` finds the rule again by that name."""

    rule: Rule
    before: ir.Expr
    after: ir.Expr
    fact: Fact | None = None
