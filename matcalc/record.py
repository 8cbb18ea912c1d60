"""The engine's log of one gradient, in the names a person uses.

Reverse mode records a :class:`~matcalc.differentiate.ChainStep` for every node it
passes (the node, its adjoint ``G``, and what ``G`` contributes to each argument).
:func:`record` reads that log once, while deriving, and keeps what the derivation
shows:

* the named intermediates a careful author would write (``Z = XW``, ``S = softmax(Z)``);
* for each intermediate and the wrt symbol, the adjoint the sweep gave it
  (``∂J/∂Z = Σ`` of the contributions into ``Z``), written in those names and tidied,
  with the props (:class:`~matcalc.matrix.rule.Fact`) and, when the simplifier logs
  them, the rules (:class:`~matcalc.matrix.rule.Step`) the tidying used.

Nothing here differentiates again: the sums are the sweep's own contributions.
:mod:`matcalc.steps` formats the record; the printers read the formatted data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ir
from .matrix import build as B
from .matrix.rule import Fact, Step
from .matrix.share import intern
from .matrix.work import once
from .ops import OPS

# Which operations get a name when they appear inside the expression, and the
# letter the name starts with: each op record's "letter".
NAMED = {name: op.extra["letter"] for name, op in OPS.items() if op.extra.get("letter")}
ELEMENTWISE_NAMED = {name for name in NAMED if OPS[name].elementwise}
# an adjoint longer than this (written out) is referred to by its name, ∂J/∂S₂,
# in the adjoints below it: nested softmaxes would otherwise double at every level
NAME_ADJOINT_ABOVE = 16
# the steps are recorded (and shown) for an expression of at most this many nodes
MAX_STEP_NODES = 300

# tidy(expr, shape, facts, rules): the simplifier, appending the props it used to
# ``facts`` and the rules that fired to ``rules``
Tidy = Callable[[ir.Expr, tuple, list, list], ir.Expr]


@dataclass(frozen=True)
class Definition:
    name: str
    expr: ir.Expr          # in terms of symbols and earlier names
    full: ir.Expr          # the subexpression of the user's expression


@dataclass(frozen=True)
class Adjoint:
    """∂J/∂target as the sweep added it up, in the named form, tidied; ``holders``
    are the names (``J`` or intermediates) whose definitions use ``target``."""

    target: str
    holders: tuple[str, ...]
    total: ir.Expr
    facts: tuple[Fact, ...] = ()
    rules: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Record:
    """The log of one gradient: ``top`` is the expression in the named
    intermediates, ``adjoints`` run from J down to the wrt symbol, ``result``
    is the last of them."""

    symbol: str
    definitions: tuple[Definition, ...]
    top: ir.Expr
    adjoints: tuple[Adjoint, ...]
    result: ir.Expr | None
    facts: tuple[Fact, ...]


def record(expr: ir.Expr, sym: ir.Symbol, gradient: ir.Expr, chain, taken: set[str], tidy: Tidy,
           given: dict[ir.Expr, str] | None = None) -> Record:
    """The named log of ``gradient``, the gradient of ``expr`` w.r.t. ``sym``, from
    ``chain``: the :class:`~matcalc.differentiate.ChainStep` s of the sweep that computed it.
    ``given`` are the user's names (``let:``) for subexpressions: they win."""
    names = choose_names(expr, set(taken), given)
    definitions = tuple(Definition(n, substitute(node, names, keep=node), node) for node, n in names.items())
    top = substitute(expr, names)
    swept = {step.node: step.adjoint for step in chain}     # G of every node the sweep passed
    swept[sym] = gradient
    bodies = [("J", top)] + [(d.name, d.expr) for d in reversed(definitions)]
    targets = [(d.name, d.full) for d in reversed(definitions) if _depends(d.full, sym.name)] + [(sym.name, sym)]
    # the full subexpressions by their names; then each adjoint, in the adjoints below
    # it, by its tidy form (as a person carries ∂J/∂Z = (S − Y)/n down) or its name
    renamed: dict[ir.Expr, ir.Expr] = {e: ir.Symbol(shape=e.shape, name=n) for e, n in names.items()}
    adjoints: list[Adjoint] = []
    facts: list[Fact] = []
    for name, node in targets:
        adjoint = swept.get(node)
        if adjoint is None or B.is_zero(adjoint):
            continue
        raw = replace(adjoint, renamed)
        mine: list[Fact] = []
        rules: list[Step] = []
        total = tidy(raw, node.shape, mine, rules)
        holders = tuple(h for h, body in bodies if any(s.name == name for s in body.symbols))
        adjoints.append(Adjoint(name, holders, total, tuple(mine), tuple(rules)))
        facts.extend(f for f in mine if f not in facts)
        # the sweep built the contributions below from the very expression it added up
        # here, so they contain it; too long to write again in each, it goes on by its
        # name, as a person writes backprop (∂J/∂S₁ = S₂ ⊙ (∂J/∂S₂ − ...))
        long = ir.tree_size(total) > NAME_ADJOINT_ABOVE
        renamed[adjoint] = ir.Symbol(shape=total.shape, name=f"∂J/∂{name}") if long else total
    result = adjoints[-1].total if adjoints and adjoints[-1].target == sym.name else None
    return Record(sym.name, definitions, top, tuple(adjoints), result, tuple(facts))


def in_let_names(expr: ir.Expr, lets, tidy: Tidy | None = None) -> tuple[ir.Expr, list]:
    """``expr`` written in the user's ``let`` names (each :class:`~matcalc.letspec.Let`'s
    ``full`` form replaced by its name, the largest first), and the lets it then needs,
    in order (a used let's own definition may need earlier ones):

    ``X.T @ (softmax(X @ W, axis=1) - Y) / n`` with ``S: softmax(X @ W, axis=1)`` is
    ``X.T @ (S - Y) / n``, needing ``S``.  With ``tidy`` (the simplifier), a let is
    also found in its tidy form and its transpose's (``Wv.T @ X.T`` is ``V.T``)."""
    table, roots, pool = once(("let names", tuple(lets), tidy), lambda: _let_tables(lets, tidy))
    # in the tables' nodes: a let found in ``expr`` is then found by identity, not by
    # comparing two copies of the chain below it (L lets in L results: L³)
    expr = intern(expr, pool)
    named = replace(expr, lambda e: table.get(e) if e in table else _power_of_root(e, roots))
    if tidy is not None and named is not expr:       # s ** 2 / s ** 3 is 1 / s: tidied again in the names
        again = tidy(named, named.shape, [], [])
        if ir.written_size(again) < ir.written_size(named):
            named = again
    need = {s.name for s in named.symbols}
    used = []
    for let in reversed(lets):
        if let.name in need:
            used.append(let)
            need |= {s.name for s in let.expr.symbols}
    return named, used[::-1]


def _let_tables(lets, tidy) -> tuple[dict, dict, dict]:
    """The let forms and the radicands (:func:`_let_forms`, :func:`_roots`) with their
    keys interned in a pool (:func:`~matcalc.matrix.share.intern`), and the pool."""
    pool: dict[tuple, ir.Expr] = {}
    table = {intern(k, pool): v for k, v in _let_forms(lets, tidy).items()}
    roots = {intern(k, pool): v for k, v in _roots(lets, tidy).items()}
    return table, roots, pool


def _let_forms(lets, tidy) -> dict[ir.Expr, ir.Expr]:
    """Each let's forms (as written, rebalanced, tidy, its transpose's and its negation's
    tidy form) -> its name (or the name's transpose, negation): the same for every
    result of a derivation, so made once (:func:`~matcalc.matrix.work.once`)."""
    table: dict[ir.Expr, ir.Expr] = {}
    for let in reversed(lets):
        name = ir.Symbol(shape=let.full.shape, name=let.name)
        forms = [(let.full, name), (ir.rebalance(let.full), name)]
        if tidy is not None and let.full.rank == 2:
            flipped = ir.apply("transpose", [let.full])
            forms += [(tidy(let.full, let.full.shape, [], []), name),
                      (tidy(flipped, flipped.shape, [], []), ir.apply("transpose", [name]))]
        elif tidy is not None:
            forms.append((tidy(let.full, let.full.shape, [], []), name))
        if tidy is not None:          # -C: a let's negation, as the simplifier writes it
            forms.append((tidy(ir.apply("neg", [let.full]), let.full.shape, [], []), ir.apply("neg", [name])))
        for full, symbol in forms:
            if isinstance(full, ir.Apply):
                table.setdefault(full, symbol)
    return table


def _roots(lets, tidy) -> dict[ir.Expr, ir.Expr]:
    """The radicand ``E`` of each let ``s = sqrt(E)`` (as written and tidied) -> ``s``."""
    out: dict[ir.Expr, ir.Expr] = {}
    for let in lets:
        full = let.full
        if B.is_op(full, "sqrt") or (B.is_op(full, "pow") and B.is_num(full.args[1], 0.5)):
            name = ir.Symbol(shape=full.shape, name=let.name)
            E = full.args[0]
            for form in (E, ir.rebalance(E)) + ((tidy(E, E.shape, [], []),) if tidy is not None else ()):
                out.setdefault(form, name)
    return out


def _power_of_root(e: ir.Expr, roots) -> ir.Expr | None:
    """``E`` -> ``s ** 2`` and ``E ** p`` -> ``s ** (2 p)`` for a let ``s = sqrt(E)``: the
    row standard deviation's square and cube, written with its name."""
    if e in roots:
        return B.power(roots[e], B.num(2))
    if B.is_op(e, "pow") and e.args[0] in roots and isinstance(e.args[1], ir.Number):
        p = 2 * e.args[1].value
        return roots[e.args[0]] if p == 1 else B.power(roots[e.args[0]], B.num(int(p) if p == int(p) else p))
    return None


def given_names(lets) -> dict[ir.Expr, str]:
    """The user's ``let`` names by the subexpression each stands for (as written, and
    as :func:`~matcalc.ir.rebalance` rewrites it for the engine)."""
    from .letspec import engine_form

    named = {full: let.name for let in lets for full in (let.full, ir.rebalance(let.full))}
    if lets:
        named.update({full: name for name, full in engine_form(lets, lets[-1].expr)[1].items()})
    return named


def written_form(matrix: ir.Expr, lets, taken: set[str], tidy: Tidy | None = None
                 ) -> tuple[ir.Expr | None, list[tuple[str, ir.Expr]]]:
    """``(named, let)`` of a result: in the user's ``let`` names where that makes it
    shorter (:func:`in_let_names`), then in named intermediates where it is still much
    bigger written out than its graph (:func:`~matcalc.matrix.share.share`); ``named``
    is None when it is written as it is."""
    from .matrix.share import share

    named, used = in_let_names(matrix, lets, tidy) if lets else (matrix, [])
    if not used or ir.written_size(named) >= ir.written_size(matrix):
        named, used = matrix, []
    shared, let = share(named, taken | {x.name for x in lets})
    let = [(x.name, x.expr) for x in used] + let
    return (shared if let else None), let


def _depends(node: ir.Expr, name: str) -> bool:
    return any(s.name == name for s in node.symbols)


def choose_names(expr: ir.Expr, taken: set[str], given: dict[ir.Expr, str] | None = None) -> dict[ir.Expr, str]:
    """Name the intermediates a careful author would: the ones the user named
    (``given``: ``let: {H: tanh(X @ W1)}``), products that feed a function,
    softmaxes, activations of named things."""
    given = given or {}
    taken |= set(given.values())
    order = ir.topological(expr)
    parents: dict[ir.Expr, list[ir.Expr]] = {}
    for node in order:
        for c in node.children():
            parents.setdefault(c, []).append(node)
    names: dict[ir.Expr, str] = {}
    counts: dict[str, int] = {}
    mine: dict[ir.Expr, str] = {}
    for node in order:
        if node is not expr and isinstance(node, ir.Apply) and node in given:
            names[node] = mine[node] = given[node]
            continue
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
        if node in mine:
            continue
        name = base
        if counts[base] > 1:
            used[base] = used.get(base, 0) + 1
            name = f"{base}{used[base]}"
        while name in taken:
            name = name + "_"
        taken.add(name)
        names[node] = name
    return names


def substitute(expr: ir.Expr, names: dict[ir.Expr, str], keep: ir.Expr | None = None) -> ir.Expr:
    """expr with every named subexpression (but ``keep`` itself) replaced by its symbol."""
    return replace(expr, {e: ir.Symbol(shape=e.shape, name=n) for e, n in names.items() if e is not keep and e != keep})


def replace(expr: ir.Expr, table) -> ir.Expr:
    """expr with every subexpression that is a key of ``table`` (a dict, or a function
    giving the replacement or None) replaced by its value (outermost first; the values
    are not looked into)."""
    lookup = table.get if isinstance(table, dict) else table
    memo: dict[ir.Expr, ir.Expr] = {}

    def go(e: ir.Expr) -> ir.Expr:
        if e in memo:
            return memo[e]
        out = lookup(e)
        if out is None:
            if isinstance(e, ir.Apply):
                args = [go(a) for a in e.args]
                out = ir.apply(e.op, args, dict(e.attrs)) if args != list(e.args) else e
            else:
                out = e
        memo[e] = out
        return out

    return go(expr)


def unname(expr: ir.Expr, definitions) -> ir.Expr:
    """Put the definitions back in: the named form as the user's expression."""
    full = {d.name: d.full for d in definitions}
    return replace(expr, lambda e: full.get(e.name) if isinstance(e, ir.Symbol) else None)
