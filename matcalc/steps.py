"""The derivation a person reads, built from the rules that fire.

For each result: the named intermediates (``Z = XW``, ``S = softmax(Z)``),
the expression in index notation, then the chain rule edge by edge, from J
down to the wrt symbol.  Each edge shows

* the elementwise derivative with Kronecker deltas, contracted
  (``∂J/∂W_pq = Σ_i ∂J/∂Z_iq X_ip``) -- computed by the index calculus from
  the operation's index definition;
* the adjoint it gives, in matrix form (``∂J/∂W = Xᵀ ∂J/∂Z``) -- computed by
  the operation's rule and tidied;
* the props the tidying used (``Σ_j Y_ij = 1: each row of Y is one-hot``),

and ends with the differential form ``dJ = G : dW`` and the boxed result.
The adjoints of the steps are recomputed from the named form and checked
numerically against the engine's result, so the steps never tell a
different story from the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import ir
from .differentiate import backprop, topological
from .index.calculus import collect, contract, differentiate, fold
from .index.lower import Pool, lower
from .index.nodes import UNIT, Entry, IExpr, Index, Mul, Sum
from .matrix import build as B
from .ops import OPS
from .matrix.rule import Fact
from .matrix.simplify import restore_shape, simplify

# Which operations get a name when they appear inside the expression, and the
# letter the name starts with: each op record's "letter".
NAMED = {name: op.extra["letter"] for name, op in OPS.items() if op.extra.get("letter")}
ELEMENTWISE_NAMED = {name for name in NAMED if OPS[name].elementwise}
# an adjoint longer than this (written out) is referred to by its name, ∂J/∂S₂,
# in the edges out of it: nested softmaxes would otherwise double at every level
NAME_ADJOINT_ABOVE = 16


@dataclass(frozen=True)
class Definition:
    name: str
    expr: ir.Expr          # in terms of symbols and earlier names
    full: ir.Expr          # the subexpression of the user's expression


@dataclass(frozen=True)
class Edge:
    """One application of the chain rule: through ``holder`` into ``target``."""

    holder: str            # "J" or an intermediate's name
    target: str
    index: IExpr | None    # Σ_out ∂J/∂holder_out ∂holder_out/∂target_pq, contracted
    adjoint: ir.Expr       # its contribution to ∂J/∂target, matrix form


@dataclass(frozen=True)
class Adjoint:
    """∂J/∂target once every edge into it is added up (and tidied)."""

    target: str
    edges: tuple[Edge, ...]
    total: ir.Expr
    facts: tuple[Fact, ...]


@dataclass
class Explanation:
    """Everything the derivation of one result shows."""

    symbol: str
    definitions: list[Definition]
    index_form: IExpr
    adjoints: list[Adjoint] = field(default_factory=list)
    result: ir.Expr | None = None      # the named form of the answer
    facts: list[Fact] = field(default_factory=list)


def choose_names(expr: ir.Expr, taken: set[str]) -> dict[ir.Expr, str]:
    """Name the intermediates a careful author would: products that feed a
    function, softmaxes, activations of named things."""
    order = topological(expr)
    parents: dict[ir.Expr, list[ir.Expr]] = {}
    for node in order:
        for c in node.children():
            parents.setdefault(c, []).append(node)
    names: dict[ir.Expr, str] = {}
    counts: dict[str, int] = {}
    for node in order:
        if node is expr or not isinstance(node, ir.Apply) or node.op not in NAMED or NAMED[node.op] is None:
            continue
        if node.op == "matmul" and all(B.is_op(p, "matmul", "transpose", "trace", "sum", "dot")
                                       for p in parents.get(node, [])) and len(parents.get(node, [])) < 2:
            continue
        if node.op in ELEMENTWISE_NAMED and node.args[0] not in names:
            continue
        base = NAMED[node.op]
        counts[base] = counts.get(base, 0) + 1
        names[node] = base
    # number them when a letter is used more than once, and avoid the user's names
    used: dict[str, int] = {}
    for node, base in list(names.items()):
        name = base
        if counts[base] > 1:
            used[base] = used.get(base, 0) + 1
            name = f"{base}{used[base]}"
        while name in taken:
            name = name + "_"
        taken.add(name)
        names[node] = name
    return names


def _substitute(expr: ir.Expr, names: dict[ir.Expr, str], keep: ir.Expr | None = None) -> ir.Expr:
    """expr with every named subexpression (but ``keep`` itself) replaced by its symbol."""
    memo: dict[ir.Expr, ir.Expr] = {}

    def go(e: ir.Expr) -> ir.Expr:
        if e in memo:
            return memo[e]
        if e in names and e is not keep and e != keep:
            out = ir.Symbol(shape=e.shape, name=names[e])
        elif isinstance(e, ir.Apply):
            args = [go(a) for a in e.args]
            out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
        else:
            out = e
        memo[e] = out
        return out

    return go(expr)


def unname(expr: ir.Expr, definitions: list[Definition]) -> ir.Expr:
    """Put the definitions back in: the named form as the user's expression."""
    full = {d.name: d.full for d in definitions}
    memo: dict[ir.Expr, ir.Expr] = {}

    def go(e: ir.Expr) -> ir.Expr:
        if e in memo:
            return memo[e]
        if isinstance(e, ir.Symbol) and e.name in full:
            out = full[e.name]
        elif isinstance(e, ir.Apply):
            args = [go(a) for a in e.args]
            out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
        else:
            out = e
        memo[e] = out
        return out

    return go(expr)


def explain(problem, result) -> Explanation | None:
    """The steps for one gradient result (None for Jacobians and Hessians,
    which are shown by their result alone for now)."""
    if result.kind != "gradient":
        return None
    sym = problem.symbols[result.symbol]
    taken = set(problem.symbols) | set(problem.dims) | {"J"}
    names = choose_names(problem.expr, taken)
    definitions = [Definition(n, _substitute(node, names, keep=node), node) for node, n in names.items()]
    named_syms = {d.name: ir.Symbol(shape=d.full.shape, name=d.name) for d in definitions}
    top = _substitute(problem.expr, names)
    index_form = collect(lower(top, (), Pool()))
    ex = Explanation(result.symbol, definitions, index_form)
    by_body = {d.expr: d.name for d in definitions}   # rules produce softmax(Z); call it S
    folds = []
    for d in definitions:
        pool = Pool()
        idx = tuple(pool.fresh(dim) for dim in d.expr.shape)
        folds.append((d.name, idx, lower(d.expr, idx, pool)))

    # holders: J, then the named intermediates from the top down
    holders: list[tuple[str, ir.Expr]] = [("J", top)]
    holders += [(d.name, d.expr) for d in reversed(definitions)]
    adjoints: dict[str, ir.Expr] = {"J": B.ONE}
    targets = [d.name for d in reversed(definitions)] + [sym.name]
    edges: dict[str, list[Edge]] = {t: [] for t in targets}
    edge_facts: dict[str, list[Fact]] = {}
    for holder, body in holders:
        if holder not in adjoints:
            continue
        seed = adjoints[holder]
        if holder != "J" and ir.tree_size(seed) > NAME_ADJOINT_ABOVE:
            # too long to write again in every edge out of it: go on from its name,
            # as a person writes backprop (∂J/∂S₁ = S₂ ⊙ (∂J/∂S₂ − ...))
            seed = ir.Symbol(shape=seed.shape, name=f"∂J/∂{holder}")
        for target in targets:
            tsym = named_syms.get(target, sym if target == sym.name else None)
            if tsym is None or not any(s.name == target for s in body.symbols):
                continue
            if not _depends(target, sym.name, definitions):
                continue
            contribution = backprop(body, tsym, seed=seed if holder != "J" else None)
            if B.is_zero(contribution):
                continue
            contribution = _substitute(contribution, by_body)
            contribution = restore_shape(simplify(contribution, notes=edge_facts.setdefault(target, [])),
                                         tsym.shape)
            edges[target].append(Edge(holder, target, _index_edge(holder, body, tsym, folds),
                                      contribution))
        # add up the adjoints of targets whose holders are all processed
        for target in targets:
            if target in adjoints or not edges[target]:
                continue
            if all(h in _done(holders, holder) for h in _holders_of(target, holders)):
                total = None
                for e in edges[target]:
                    total = B.add(total, e.adjoint)
                facts: list[Fact] = list(edge_facts.get(target, []))
                total = restore_shape(simplify(total, notes=facts), named_syms.get(target, sym).shape)
                adjoints[target] = total
                ex.adjoints.append(Adjoint(target, tuple(edges[target]), total, tuple(facts)))
                ex.facts.extend(f for f in facts if f not in ex.facts)
    ex.result = adjoints.get(sym.name)
    return ex


def _depends(target: str, wrt: str, definitions: list[Definition]) -> bool:
    if target == wrt:
        return True
    for d in definitions:
        if d.name == target:
            return any(s.name == wrt for s in d.full.symbols)
    return False


def _holders_of(target: str, holders) -> list[str]:
    return [h for h, body in holders if any(s.name == target for s in body.symbols)]


def _done(holders, current: str) -> set[str]:
    out = set()
    for h, _ in holders:
        out.add(h)
        if h == current:
            break
    return out


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
    notation and their derivatives, entry by entry."""

    kind: str                       # "jacobian" | "hessian"
    definitions: list[Definition]
    label: str                      # "J" or "∂J/∂x" (the gradient, for a Hessian)
    out: Index | None               # the entry's index (i), None for a scalar function
    wrt: Index | None               # the derivative's index (q), None for a scalar wrt
    entry: IExpr                    # the function's entry, named intermediates as atoms
    derivative: IExpr               # ∂ entry / ∂x_q, deltas contracted, definitions folded
    result: ir.Expr                 # the matrix form, named intermediates as symbols


def entrywise(problem, result) -> Entrywise | None:
    """Index-notation steps for a Jacobian (of J) or a Hessian (of the gradient)."""
    if result.kind not in ("jacobian", "hessian"):
        return None
    sym = problem.symbols[result.symbol]
    target = problem.expr if result.kind == "jacobian" else result.gradient
    if target is None or target.rank > 1 or sym.rank > 1:
        return None
    taken = set(problem.symbols) | set(problem.dims) | {"J"}
    names = choose_names(problem.expr, taken)
    root = problem.expr
    if result.kind == "jacobian" and isinstance(root, ir.Apply) and NAMED.get(root.op) \
            and root.op not in ELEMENTWISE_NAMED:
        letter = NAMED[root.op]
        while letter in taken:
            letter += "_"
        names[root] = letter           # J = softmax(x): call it S, so S_i δ_iq - S_i S_q reads
    definitions = [Definition(n, _substitute(node, names, keep=node), node) for node, n in names.items()]
    out = Index("i", target.shape[0]) if target.rank == 1 else None
    wrt = Index("q", sym.shape[0]) if sym.rank == 1 else None
    pool = Pool({"i", "q", "p"})
    out_idx = (out,) if out is not None else ()
    entry = collect(lower(_substitute(target, names), out_idx, pool))
    try:
        derivative = contract(differentiate(lower(target, out_idx, pool), sym.name,
                                            (wrt,) if wrt is not None else (), pool))
    except NotImplementedError:
        return None
    derivative = collect(derivative)
    for d in definitions:
        p2 = Pool()
        idx = tuple(p2.fresh(dim) for dim in d.expr.shape)
        derivative = fold(derivative, d.name, idx, lower(d.expr, idx, p2))
    label = "J" if result.kind == "jacobian" else f"∂J/∂{sym.name}"
    named = _substitute(result.matrix, {d.full: d.name for d in definitions})
    used = {e.name for e in _entries(entry) | _entries(derivative)} | {s.name for s in named.symbols}
    definitions = [d for d in definitions if d.name in used or any(
        d.name in {s.name for s in other.expr.symbols} for other in definitions if other.name in used)]
    return Entrywise(result.kind, definitions, label, out, wrt, entry, derivative, named)


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
