"""The pipeline, one direction: load -> parse -> (lower -> differentiate ->
simplify -> recognize -> tidy) -> outputs and verification.

:func:`derive` is the public entry point; the CLI calls nothing else.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from . import ir
from .differentiate import ChainStep, backprop, hessian, jacobian
from .matrix import build as B
from .matrix.algebra import budget
from .matrix.simplify import restore_shape, simplify
from .render.text import to_text
from .shapes import Shape
from .spec import Problem, load
from .verify import Check, check_derivative


@dataclass
class Result:
    """The derivative w.r.t. one symbol, in matrix form.

    ``kind`` is ``gradient`` (scalar expression), ``jacobian`` (vector-valued
    expression, shape ``[out, in]``) or ``hessian`` (order 2, ``[in, in]``).
    ``raw`` is the form straight out of the chain rule, before tidying;
    ``steps`` are the chain-rule steps that produced it.
    """

    symbol: str
    kind: str
    matrix: ir.Expr
    raw: ir.Expr
    steps: list[ChainStep] = field(default_factory=list, repr=False)
    gradient: ir.Expr | None = None   # for a Hessian: the gradient it differentiates

    @property
    def text(self) -> str:
        """The result in the expression language (it parses again)."""
        return to_text(self.matrix)

    @property
    def shape(self) -> Shape:
        return self.matrix.shape

    def __repr__(self) -> str:
        return f"{self.kind} w.r.t. {self.symbol}: {self.text}"


@dataclass
class Derivation:
    """One derivation: the problem as understood, and what was derived."""

    problem: Problem
    results: dict[str, Result] = field(default_factory=dict)
    verification: dict[str, Check] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """True when every result was checked numerically and passed."""
        return bool(self.verification) and all(c.passed for c in self.verification.values())

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
        memo: dict[int, str] = {}  # shared, so a 10,000-term sum is printed once, not 10,000 times
        stack: list[tuple[int, ir.Expr]] = [(0, self.problem.expr)]
        while stack:
            depth, node = stack.pop()
            out.append((depth, to_text(node, memo), node.shape))
            stack.extend((depth + 1, c) for c in reversed(node.children()))
        return out

    @property
    def code(self) -> str:
        """The source of a self-contained numpy module (see :mod:`matcalc.codegen`)."""
        from .codegen import emit_module
        return emit_module(self)

    def latex(self) -> str:
        """A complete LaTeX document with the derivation (compiles with pdflatex)."""
        from .render.document import to_latex_document
        return to_latex_document([self])

    def markdown(self) -> str:
        """The derivation as Markdown with $$ math (GitHub, Jupyter)."""
        from .render.document import to_markdown
        return to_markdown([self])

    def _repr_latex_(self) -> str:
        from .render.latex import to_latex
        parts = [f"\\frac{{\\partial J}}{{\\partial {r.symbol}}} = {to_latex(r.matrix)}"
                 for r in self.results.values()]
        return "$" + ",\\quad ".join(parts) + "$"

    def function(self):
        """The module's callables (``value``, ``grad_S`` / ``hess_S``,
        ``value_and_grad``) without writing a file."""
        from .codegen import callables
        return callables(self)

    def __repr__(self) -> str:
        if not self.results:
            return f"Derivation({self.name}: {self.expr} w.r.t. {', '.join(self.problem.wrt)})"
        shown = "; ".join(f"d/d{r.symbol} = {r.text}" for r in self.results.values())
        return f"<Derivation {self.name}: {shown}>"


def derive(source: Any, *, verify: bool = True, seed: int = 0) -> Derivation | list[Derivation]:
    """Derive what an expr.yaml asks for.

    ``source`` is a path, YAML text, or a dict with the keys of expr.yaml.
    Returns one :class:`Derivation`, or a list of them for a file with
    ``derivations:``.  Every result is checked against finite differences
    unless ``verify=False``.  Raises :class:`matcalc.MatcalcError` for bad
    input or a derivative with no matrix form.
    """
    problems, many = load(source)
    derivations = [run(p, verify=verify, seed=seed) for p in problems]
    return derivations if many else derivations[0]


def run(problem: Problem, *, verify: bool = True, seed: int = 0) -> Derivation:
    """Differentiate, tidy and (optionally) verify one problem."""
    d = Derivation(problem)
    with deep_recursion():
        work = replace(problem, expr=rebalance(problem.expr))
        for name in problem.wrt:
            d.results[name] = differentiate(work, name)
            if verify:
                d.verification[name] = check(work, d.results[name], seed=seed)
    return d


@contextmanager
def deep_recursion(limit: int = 20_000):
    """The passes recurse over the tree; an expression may nest up to the
    parser's limit, which needs more than Python's default 1,000 frames."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


ASSOCIATIVE = ("add", "mul", "matmul")


def rebalance(expr: ir.Expr) -> ir.Expr:
    """Long chains of one associative operator (x + x + ... + x, A @ B @ ... @ Z)
    as balanced trees: same value, depth log n instead of n."""
    memo: dict[int, ir.Expr] = {}
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not isinstance(node, ir.Apply):
            memo[id(node)] = node
            continue
        operands = _chain(node) if node.op in ASSOCIATIVE else list(node.args)
        if node.op == "matmul" and not all(x.rank == 2 for x in operands):
            operands = list(node.args)   # a @ (b @ c) with vectors is not (a @ b) @ c
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in operands if id(a) not in memo)
            continue
        parts = [memo[id(a)] for a in operands]
        if node.op in ASSOCIATIVE and len(parts) > 2:
            while len(parts) > 1:
                pairs = [ir.apply(node.op, [parts[i], parts[i + 1]]) for i in range(0, len(parts) - 1, 2)]
                parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
            memo[id(node)] = parts[0]
        elif parts != list(node.args):
            memo[id(node)] = ir.apply(node.op, parts, dict(node.attrs))
        else:
            memo[id(node)] = node
    return memo[id(expr)]


def _chain(node: ir.Apply) -> list[ir.Expr]:
    """The operands of a left- or right-nested chain of node's operator, in order."""
    out: list[ir.Expr] = []
    stack = [node]
    while stack:
        e = stack.pop()
        if isinstance(e, ir.Apply) and e.op == node.op:
            stack.extend(reversed(e.args))
        else:
            out.append(e)
    return out


def differentiate(problem: Problem, name: str) -> Result:
    with budget():   # sympy's share of the time is bounded; past it, forms stay as they are
        return _differentiate(problem, name)


def _differentiate(problem: Problem, name: str) -> Result:
    expr, sym = problem.expr, problem.symbols[name]
    steps: list[ChainStep] = []
    gradient = None
    if problem.order == 2:
        kind = "hessian"
        gradient = restore_shape(simplify(backprop(expr, sym)), sym.shape)
        raw = hessian(expr, sym, simplify)
        shape = sym.shape * 2
    elif expr.rank == 0:
        kind = "gradient"
        raw = backprop(expr, sym, steps=steps)
        shape = sym.shape
    else:
        kind = "jacobian"
        raw = jacobian(expr, sym, simplify)
        shape = expr.shape + sym.shape
    matrix = simplify(raw) if not B.is_zero(raw) else raw
    return Result(name, kind, restore_shape(matrix, shape), raw, steps, gradient)


def check(problem: Problem, result: Result, *, seed: int = 0) -> Check:
    """Finite-difference check of one result (for a Hessian: the gradient
    against the value, then the Hessian against the gradient)."""
    sym = problem.symbols[result.symbol]
    if result.kind != "hessian":
        return check_derivative(problem.expr, sym, result.matrix, problem.symbols, problem.dims, seed=seed)
    first = check_derivative(problem.expr, sym, result.gradient, problem.symbols, problem.dims, seed=seed)
    second = check_derivative(result.gradient, sym, result.matrix, problem.symbols, problem.dims, seed=seed)
    return Check(sym.name, second.shape, max(first.max_abs_error, second.max_abs_error),
                 max(first.max_rel_error, second.max_rel_error), second.directions, second.entries,
                 first.passed and second.passed)
