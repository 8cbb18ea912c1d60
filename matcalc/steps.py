"""The derivation a person reads, formatted from what the engine recorded.

For each result: the named intermediates (``Z = XW``, ``S = softmax(Z)``),
the expression in index notation, then the chain rule target by target, from J
down to the wrt symbol.  Each target shows

* the elementwise derivative with Kronecker deltas, contracted
  (``∂J/∂W_pq = Σ_i ∂J/∂Z_iq X_ip``) -- computed by the index calculus from
  the operations' index definitions, one path per definition that uses the target;
* its adjoint in matrix form (``∂J/∂W = Xᵀ ∂J/∂Z``) -- what the reverse sweep
  added up, in the intermediates' names and tidied, as :mod:`matcalc.record` kept it;
* the props and the rules the tidying used (``Σ_j Y_ij = 1: each row of Y is one-hot``),

and ends with the differential form ``dJ = G : dW`` and the boxed result.
Nothing here differentiates in matrix form or simplifies: :func:`explain` formats
the pipeline's record, and :func:`consistent` checks numerically that the steps
arrive at the engine's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ir
from .index.calculus import collect, contract, differentiate, fold
from .index.lower import Pool, lower
from .index.nodes import UNIT, Entry, IExpr, Index, Mul, Sum
from .matrix.rule import Fact, Step
from .matrix.work import once
from .record import (
    ELEMENTWISE_NAMED,
    NAMED,
    Definition,
    choose_names,
    given_names,
    substitute,
    unname,
)

__all__ = ["Adjoint", "Definition", "Edge", "Entrywise", "Explanation", "consistent", "entrywise", "explain"]


@dataclass(frozen=True)
class Edge:
    """One path of the chain rule: through ``holder``'s definition into ``target``."""

    holder: str            # "J" or an intermediate's name
    target: str
    index: IExpr | None    # Σ_out ∂J/∂holder_out ∂holder_out/∂target_pq, contracted


@dataclass(frozen=True)
class Adjoint:
    """∂J/∂target once every path into it is added up (and tidied)."""

    target: str
    edges: tuple[Edge, ...]
    total: ir.Expr
    facts: tuple[Fact, ...]
    rules: tuple[Step, ...] = ()


@dataclass
class Explanation:
    """Everything the derivation of one result shows."""

    symbol: str
    definitions: list[Definition]
    index_form: IExpr
    adjoints: list[Adjoint] = field(default_factory=list)
    result: ir.Expr | None = None      # the named form of the answer
    facts: list[Fact] = field(default_factory=list)


def explain(problem, result) -> Explanation | None:
    """The steps of one gradient result, from its record; for a Hessian w.r.t. a matrix,
    those of the gradient it differentiates (None for Jacobians and other Hessians, which
    are shown entry by entry, and for a result with no record)."""
    log = getattr(result, "record", None)
    if result.kind not in ("gradient", "hessian") or log is None:
        return None
    definitions = list(log.definitions)
    shapes = {d.name: d.full.shape for d in definitions}
    shapes[log.symbol] = problem.symbols[log.symbol].shape
    bodies = {"J": log.top, **{d.name: d.expr for d in definitions}}
    # the same for every result of a derivation (the names depend on the expression
    # only), so made once, and each edge once for all the results that pass it
    folds = once(("folds", tuple((d.name, d.expr) for d in definitions)), lambda: _folds(definitions))
    ex = Explanation(log.symbol, definitions, collect(lower(log.top, (), Pool())))
    for adj in log.adjoints:
        target = ir.Symbol(shape=shapes[adj.target], name=adj.target)
        edges = tuple(Edge(h, adj.target, once(("index edge", h, bodies[h], target, id(folds)),
                                               lambda h=h: _index_edge(h, bodies[h], target, folds)))
                      for h in adj.holders)
        ex.adjoints.append(Adjoint(adj.target, edges, adj.total, adj.facts, adj.rules))
    ex.result = log.result
    ex.facts = list(log.facts)
    return ex


def _folds(definitions) -> list:
    """Each definition in index notation, ``(name, indices, entry)``: what an edge folds back."""
    folds = []
    for d in definitions:
        pool = Pool()
        idx = tuple(pool.fresh(dim) for dim in d.expr.shape)
        folds.append((d.name, idx, lower(d.expr, idx, pool)))
    return folds


def wrt_indices(shape) -> tuple[Index, ...]:
    """∂J/∂W_pq: the derivative's indices are p, q."""
    names = iter("pq")
    return tuple(UNIT if d == 1 else Index(next(names), d) for d in shape)


def _index_edge(holder: str, body: ir.Expr, target: ir.Symbol, folds) -> IExpr | None:
    """Σ_out ∂J/∂holder_out ∂holder_out/∂target_pq with the deltas contracted
    and the intermediates' definitions folded back (exp(Z_ij)/Σ_k exp(Z_ik) -> S_ij)."""
    wrt = wrt_indices(target.shape)
    pool = Pool({ix.name for ix in wrt})
    try:
        out = tuple(UNIT if d == 1 else pool.fresh(d) for d in body.shape)
        entry = lower(body, out, pool)
        derivative = differentiate(entry, target.name, wrt, pool)
        if holder == "J":
            total = contract(derivative)
        else:
            total = Mul((Entry(f"∂J/∂{holder}", out), derivative))
            for ix in reversed(out):
                if ix != UNIT:
                    total = Sum(ix, total)
            total = contract(total)
    except NotImplementedError:
        return None
    total = collect(total)
    for name, idx, definition in folds:
        total = fold(total, name, idx, definition)
    return total


def consistent(problem, ex: Explanation, result_matrix: ir.Expr, seed: int = 0) -> bool:
    """The steps' answer (names put back) equals the engine's, numerically."""
    from .evaluate import evaluate
    from .verify import draw_inputs

    if ex.result is None:
        return False
    full = unname(ex.result, ex.definitions)
    rng = np.random.default_rng(seed)
    values = draw_inputs([full, result_matrix, problem.expr], problem.symbols, problem.dims, rng)
    a = np.asarray(evaluate(full, values, problem.dims), dtype=float)
    b = np.asarray(evaluate(result_matrix, values, problem.dims), dtype=float)
    return bool(np.allclose(np.broadcast_to(a, b.shape), b, rtol=1e-8, atol=1e-10))



@dataclass
class Entrywise:
    """The steps of a Jacobian or Hessian: the function's entries in index
    notation and their derivatives, entry by entry (``∂J_ij/∂X_pq`` for a matrix
    of a matrix: four indices, each delta contracted)."""

    kind: str                       # "jacobian" | "hessian"
    definitions: list[Definition]
    label: str                      # "J" or "∂J/∂x" (the gradient, for a Hessian)
    out: tuple[Index, ...]          # the entry's indices (i) or (i, j); () for a scalar function
    wrt: tuple[Index, ...]          # the derivative's indices (q) or (p, q); () for a scalar wrt
    entry: IExpr                    # the function's entry, named intermediates as atoms
    derivative: IExpr               # ∂ entry / ∂x_q, deltas contracted, definitions folded
    result: ir.Expr                 # the matrix form, named intermediates as symbols


def entrywise(problem, result) -> Entrywise | None:
    """Index-notation steps for a Jacobian (of J) or a Hessian (of the gradient)."""
    if result.kind not in ("jacobian", "hessian"):
        return None
    sym = problem.symbols[result.symbol]
    target = problem.expr if result.kind == "jacobian" else result.gradient
    if target is None or target.rank > 2 or sym.rank > 2:
        return None
    taken = set(problem.symbols) | set(problem.dims) | {"J"}
    names = choose_names(problem.expr, taken, given_names(getattr(problem, "let", ())))   # the user's let names win
    root = problem.expr
    if result.kind == "jacobian" and isinstance(root, ir.Apply) and NAMED.get(root.op) \
            and root.op not in ELEMENTWISE_NAMED:
        letter = NAMED[root.op]
        while letter in taken:
            letter += "_"
        names[root] = letter           # J = softmax(x): call it S, so S_i δ_iq - S_i S_q reads
    definitions = [Definition(n, substitute(node, names, keep=node), node) for node, n in names.items()]
    out_idx = tuple(Index(n, d) for n, d in zip("ij", target.shape))
    wrt = tuple(Index(n, d) for n, d in zip("pq" if sym.rank == 2 else "q", sym.shape))
    pool = Pool({"i", "j", "p", "q"})
    try:
        derivative = contract(differentiate(lower(target, out_idx, pool), sym.name, wrt, pool))
    except NotImplementedError:
        return None
    derivative = collect(derivative)
    for d in definitions:
        p2 = Pool()
        idx = tuple(p2.fresh(dim) for dim in d.expr.shape)
        derivative = fold(derivative, d.name, idx, lower(d.expr, idx, p2))
    if result.kind == "jacobian" and root in names and names[root] not in given_names(getattr(problem, "let", ())).values() \
            and names[root] not in {e.name for e in _entries(derivative)}:
        # J = A X B named Z only to read J_ij = Z_ij: the derivative A_ip B_qj never uses it
        del names[root]
        definitions = [d for d in definitions if d.full is not root]
    entry = collect(lower(substitute(target, names), out_idx, pool))
    label = "J" if result.kind == "jacobian" else f"∂J/∂{sym.name}"
    named = substitute(result.matrix, {d.full: d.name for d in definitions})
    used = {e.name for e in _entries(entry) | _entries(derivative)} | {s.name for s in named.symbols}
    definitions = [d for d in definitions if d.name in used or any(
        d.name in {s.name for s in other.expr.symbols} for other in definitions if other.name in used)]
    return Entrywise(result.kind, definitions, label, out_idx, wrt, entry, derivative, named)


def _entries(e) -> set:
    from .index import nodes as I
    if isinstance(e, I.Entry):
        return {e}
    out = set()
    for child in getattr(e, "terms", ()) or getattr(e, "factors", ()):
        out |= _entries(child)
    for attr in ("body", "arg", "base", "exp"):
        if hasattr(e, attr):
            out |= _entries(getattr(e, attr))
    return out
