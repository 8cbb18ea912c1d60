"""Reverse-mode differentiation over the matrix IR.

The chain rule over every path, in Frobenius-product form: if ``J`` depends on
a node ``N = op(A, B)`` and ``G = ∂J/∂N``, then ``G : dN = Ā : dA + B̄ : dB``
where the op's record gives ``Ā, B̄`` (its ``vjp``).  Adjoints of a node
reached along several paths add up.  Each step is recorded as a
:class:`ChainStep` so the derivation can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .ir import topological   # the graph walk lives with the IR; the sweeps call it by this name
from .matrix import build as B
from .ops import OPS


@dataclass(frozen=True)
class ChainStep:
    """``G_node : d node`` pushed to the arguments: one line of the derivation."""

    node: ir.Expr
    adjoint: ir.Expr
    contributions: tuple[tuple[ir.Expr, ir.Expr], ...]   # (argument, its adjoint contribution)


def balanced_sum(terms: list[ir.Expr]) -> ir.Expr:
    """t1 + t2 + ... as a tree of depth log2(len(terms)); 0 for no terms."""
    terms = [t for t in terms if not B.is_zero(t)]
    if not terms:
        return B.ZERO
    while len(terms) > 1:
        pairs = [B.add(terms[i], terms[i + 1]) for i in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def depends_on(order: list[ir.Expr], names: set[str]) -> set[ir.Expr]:
    """The nodes of ``order`` (children first) that depend on a symbol named in ``names``."""
    dep: set[ir.Expr] = set()
    for node in order:
        if (isinstance(node, ir.Symbol) and node.name in names) or any(c in dep for c in node.children()):
            dep.add(node)
    return dep


def backprop(expr: ir.Expr, wrt: ir.Symbol, seed: ir.Expr | None = None,
             steps: list[ChainStep] | None = None) -> ir.Expr:
    """The adjoint of ``wrt`` given the adjoint ``seed`` of ``expr`` (default 1).

    For a scalar ``expr`` and seed 1 this is the gradient, with the shape of
    ``wrt``; with a symbolic seed ``u`` it is ``Jᵀ u``, linear in ``u``.
    The result is zero (the number 0) when ``expr`` does not depend on ``wrt``.
    """
    return _sweep(expr, {wrt.name}, seed if seed is not None else B.ONE, steps)[wrt.name]


def gradients(expr: ir.Expr, wrt: list[ir.Symbol], steps: list[ChainStep] | None = None) -> dict[str, ir.Expr]:
    """The gradient of a scalar ``expr`` w.r.t. each symbol of ``wrt``, by name,
    in one reverse sweep (reverse mode's point: a sum of 2,000 symbols costs one
    sweep, not 2,000).  A symbol ``expr`` does not depend on gets the number 0."""
    return _sweep(expr, {s.name for s in wrt}, B.ONE, steps)


def _sweep(expr: ir.Expr, names: set[str], seed: ir.Expr, steps: list[ChainStep] | None) -> dict[str, ir.Expr]:
    """One reverse sweep from ``expr`` (adjoint ``seed``): the adjoint of each symbol
    named in ``names`` (0 where ``expr`` does not depend on it), each chain-rule step
    appended to ``steps``.  It stops once every named symbol has its adjoint: they
    come after all the nodes that depend on them (parents before children)."""
    order = topological(expr)
    dep = depends_on(order, names)
    out = {name: B.ZERO for name in names}
    left = sum(1 for node in dep if isinstance(node, ir.Symbol))
    # contributions are kept in lists and added up as a balanced tree, so a
    # symbol used 10,000 times does not get a 10,000-deep chain of additions
    adjoint: dict[ir.Expr, list[ir.Expr]] = {expr: [seed]}
    for node in reversed(order):   # parents before children
        if not left:
            break
        g = balanced_sum(adjoint.pop(node, []))
        if isinstance(node, ir.Symbol) and node.name in names:
            out[node.name], left = g, left - 1   # every path into it has been added up
            continue
        if node not in dep or B.is_zero(g) or not isinstance(node, ir.Apply):
            continue
        recorded = []
        for arg, contrib in zip(node.args, OPS[node.op].vjp(g, node)):
            if arg not in dep or B.is_zero(contrib):
                continue
            recorded.append((arg, contrib))
            adjoint.setdefault(arg, []).append(contrib)
        if steps is not None:
            steps.append(ChainStep(node, g, tuple(recorded)))
    return out


def jacobian(expr: ir.Expr, wrt: ir.Symbol, tidy=None, log: list | None = None) -> ir.Expr:
    """``∂expr/∂wrt`` for a vector (or scalar) ``expr`` and a vector or scalar
    ``wrt``: shape ``[out, in]`` (``[out]`` for a scalar ``wrt``).

    Reverse mode with a symbolic seed ``u`` gives ``Jᵀ u``, linear in ``u``, and
    ``J = ∂(Jᵀu)/∂u`` is read off it by the recognizer
    (:mod:`matcalc.matrix.recognize`: the contraction graph of each term, terms
    sharing a ``diag`` factor read as one product, an ``einsum`` where a term has
    no matrix reading).  ``tidy`` simplifies the adjoint before it is read.
    """
    from .matrix.recognize import recognize

    if B.is_op(expr, "vec") and expr.args[0].rank == 2 and wrt.rank:
        # ∂ vec(vec F) / ∂ (vec X)ᵀ = ∂ vec F / ∂ (vec X)ᵀ: the rows of the vec convention are vec F's
        return jacobian(expr.args[0], wrt, tidy, log)
    tidy = tidy or (lambda e: e)
    u = ir.Symbol(shape=expr.shape, name="_u")
    adjoint = tidy(backprop(expr, wrt, seed=u))
    if B.is_zero(adjoint):
        return B.ZERO
    if wrt.rank == 0:
        return backprop(adjoint, u)     # the w with Jᵀu = w @ u
    return recognize(adjoint, u, log)   # ∂(Jᵀu)/∂u, axes u's then wrt's: J (vec convention past 2 axes)


def hessian(expr: ir.Expr, wrt: ir.Symbol, tidy=None, log: list | None = None,
            grad: ir.Expr | None = None) -> ir.Expr:
    """The Hessian of a scalar ``expr`` w.r.t. ``wrt``: the Jacobian of the gradient
    (``grad`` when the caller has it already, else made here)."""
    tidy = tidy or (lambda e: e)
    grad = tidy(backprop(expr, wrt)) if grad is None else grad
    if B.is_zero(grad) or B.is_zeros(grad):
        return B.ZERO
    if wrt.rank == 0:
        return tidy(backprop(grad, wrt))
    return jacobian(grad, wrt, tidy, log)


def per_symbol(chain: list[ChainStep], names: list[str]) -> dict[str, list[ChainStep]]:
    """The record of one sweep for several symbols (:func:`gradients`), split: a
    symbol's steps are those through nodes that depend on it, each with only the
    contributions to its arguments that depend on it -- the steps :func:`backprop`
    for that symbol alone records.  Linear in the steps for balanced sums."""
    wanted = set(names)
    below: dict[ir.Expr, frozenset[str]] = {}
    out: dict[str, list[ChainStep]] = {name: [] for name in names}
    for step in chain:
        for name in _symbols_below(step.node, wanted, below):
            kept = tuple((a, c) for a, c in step.contributions if name in _symbols_below(a, wanted, below))
            out[name].append(step if len(kept) == len(step.contributions) else
                             ChainStep(step.node, step.adjoint, kept))
    return out


def _symbols_below(node: ir.Expr, wanted: set[str], memo: dict[ir.Expr, frozenset[str]]) -> frozenset[str]:
    """The names of ``wanted`` that ``node`` depends on (memoized, iterative)."""
    stack: list[tuple[ir.Expr, bool]] = [(node, False)]
    while stack:
        n, ready = stack.pop()
        if n in memo:
            continue
        kids = n.children()
        if ready or not kids:
            if isinstance(n, ir.Symbol):
                memo[n] = frozenset((n.name,)) if n.name in wanted else frozenset()
            else:
                memo[n] = frozenset().union(*(memo[c] for c in kids))
            continue
        stack.append((n, True))
        stack.extend((c, False) for c in kids if c not in memo)
    return memo[node]
