"""The pipeline, one direction: load -> parse -> (lower -> differentiate ->
simplify -> recognize -> tidy) -> outputs and verification.

:func:`derive` is the public entry point; the CLI calls nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ir
from .render.text import to_text
from .shapes import Shape
from .spec import Problem, load


@dataclass
class Derivation:
    """One derivation: the problem as understood, and what was derived."""

    problem: Problem
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.problem.name

    @property
    def expr(self) -> str:
        return self.problem.expr_text

    @property
    def order(self) -> int:
        return self.problem.order

    @property
    def shape(self) -> Shape:
        return self.problem.expr.shape

    def subexpressions(self) -> list[tuple[int, str, Shape]]:
        """(depth, text, shape) of every node, parents first: what the CLI tree shows."""
        out: list[tuple[int, str, Shape]] = []
        stack: list[tuple[int, ir.Expr]] = [(0, self.problem.expr)]
        while stack:
            depth, node = stack.pop()
            out.append((depth, to_text(node), node.shape))
            stack.extend((depth + 1, c) for c in reversed(node.children()))
        return out

    def __repr__(self) -> str:
        return f"Derivation({self.name}: {self.expr} w.r.t. {', '.join(self.problem.wrt)})"


def derive(source: Any) -> Derivation | list[Derivation]:
    """Derive what an expr.yaml asks for.

    ``source`` is a path, YAML text, or a dict with the keys of expr.yaml.
    Returns one :class:`Derivation`, or a list of them for a file with
    ``derivations:``.  Raises :class:`matcalc.MatcalcError` for bad input.
    """
    problems, many = load(source)
    derivations = [Derivation(p) for p in problems]
    return derivations if many else derivations[0]
