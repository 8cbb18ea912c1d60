"""Finite differences through ``stop_gradient``: its value is held constant.

``stop_gradient(A)`` has the value of ``A`` and the derivative 0, so differences
of the plain value disagree with a right derivative (``sum(stop_gradient(X) * X)``
moves as ``2 X`` but its derivative is ``stop_gradient(X)``).  Differences about a
point are therefore taken of the expression with each such value held at that
point: ``f(X + hV) = sum(X₀ * (X + hV))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .. import ir
from ..evaluate import evaluate
from ..ops import OPS

Values = Mapping[str, np.ndarray]


def frozen_nodes(expr: ir.Expr) -> list[ir.Apply]:
    """The nodes whose op holds its value constant to differentiation (stop_gradient)."""
    return [n for n in ir.distinct(expr) if isinstance(n, ir.Apply) and OPS[n.op].frozen]


def freezer(expr: ir.Expr, dims) -> Callable[[Values], Callable[[Values], np.ndarray]] | None:
    """``point -> f``: ``expr``'s value with every frozen node held at its value at
    ``point``; None when ``expr`` has none (then the value itself is differenced)."""
    nodes = frozen_nodes(expr)
    if not nodes:
        return None
    held = {node: ir.Symbol(node.shape, f"_held{k}") for k, node in enumerate(nodes)}
    body = _swap(expr, held, {})

    def about(point: Values) -> Callable[[Values], np.ndarray]:
        fixed = {s.name: evaluate(node.args[0], point, dims) for node, s in held.items()}
        return lambda values: evaluate(body, {**values, **fixed}, dims)
    return about


def _swap(e: ir.Expr, held: dict, memo: dict) -> ir.Expr:
    if e in held:
        return held[e]
    if not isinstance(e, ir.Apply):
        return e
    if id(e) not in memo:
        memo[id(e)] = ir.apply(e.op, [_swap(a, held, memo) for a in e.args], dict(e.attrs))
    return memo[id(e)]
