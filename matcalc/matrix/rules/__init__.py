"""The simplifier's rules, as data: every identity it knows, named, in the order
the engine (:mod:`..rewrite`) tries them at a node.

>>> from matcalc.matrix.rules import rule_named
>>> rule_named("transpose-product").identity
'(A B)ᵀ = Bᵀ Aᵀ'
"""

from __future__ import annotations

from functools import cache

from ..rule import Rule
from . import (clutter, diag, einsum, facts, inner, keepdims, kron, powers, products, reductions, scalars, shape,
               sums, transpose, triangles)

# the order rules are tried in, where several share a root op (the first that applies fires)
_ORDER = (
    transpose.RULES[:1] + facts.RULES_FIRST + transpose.RULES[1:]
    + products.RULES[:4] + facts.RULES[:2] + products.RULES[4:]
    + facts.RULES[2:] + reductions.RULES
    + diag.RULES + scalars.RULES + inner.RULES + einsum.RULES + clutter.RULES + keepdims.RULES
    + triangles.RULES + powers.RULES
    + kron.RULES      # Kronecker products, vec and commutation matrices (the vec convention of issue 15)
    + shape.RULES     # reshapes undone and products with unit vectors (eye(m)[j]), after the rules above
)
_REGION = (sums.RULES + transpose.REGION + scalars.REGION + facts.REGION + inner.REGION + clutter.REGION
           + triangles.REGION + keepdims.REGION + kron.REGION)



def all_rules() -> tuple[Rule, ...]:
    """Every rule: those applied everywhere, those applied inside elementwise results,
    and the sympy stage (``elementwise-algebra``)."""
    from ..rewrite import ALGEBRA
    return tuple(dict.fromkeys(_ORDER + _REGION + (ALGEBRA,)))    # (a rule in both lists: once)


def licensed_by(prop: str) -> tuple[Rule, ...]:
    """The rules a prop's row in :data:`matcalc.props.PROPS` names (by name)."""
    from ...props import PROPS
    return tuple(rule_named(name) for name in PROPS[prop].rules)


def rule_table() -> list[tuple[str, str, str, str]]:
    """``(name, identity, props needed, Cookbook eq.)`` for every rule, in order:
    what ``matcalc rules`` prints."""
    return [(r.name, r.identity, ", ".join(r.requires), f"({r.cookbook})" if r.cookbook else "")
            for r in all_rules()]


def rule_named(name: str) -> Rule:
    """The rule called ``name`` (a printer showing a step looks its rule up here)."""
    for r in all_rules():
        if r.name == name:
            return r
    raise KeyError(name)


@cache
def ruleset():
    """The rule set :func:`..simplify.simplify` applies."""
    from ..rewrite import RuleSet
    return RuleSet(_ORDER, _REGION)
