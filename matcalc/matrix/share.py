"""Shared subexpressions as named intermediates, so a result's size stays linear.

The engine works on a graph: a subexpression used twice is one node.  Written
out as text it is copied at every use, and a chain whose every link uses the
previous one twice (``softmax`` nested 20 deep: each adjoint appears twice in
the next) doubles at every link: 49 million nodes to print 500 distinct ones.
A careful person names such pieces once (``G3 = S4 * (G4 - ...)``) and writes
the result in those names; :func:`share` does the same when the written-out
form is much larger than the graph, and leaves ordinary results as they are.

:func:`share` returns the result in the names and the definitions, each in
terms of earlier ones, in order: the ``let`` of the expression language.
"""

from __future__ import annotations

from .. import ir
from ..errors import DerivationError
from ..ops import OPS
from .work import once

SHARE_ABOVE = 120        # written-out nodes: below this a result is never rewritten
SHARE_RATIO = 3          # ...nor when writing it out costs less than 3x its graph
MIN_NAMED = 4            # a repeated piece is named when it is at least this big written out
MAX_NODES = 50_000       # distinct nodes a result may have: past it, a clear refusal

LETTERS = {name: op.extra["letter"] for name, op in OPS.items() if op.extra.get("letter")}
LETTER = "T"             # a repeated piece with no letter of its own (an adjoint, a sum...)


def intern(expr: ir.Expr, table: dict | None = None) -> ir.Expr:
    """The same expression with equal subtrees made one node (hash-consing by the
    children's identities, so it costs the graph, not the written-out tree).  With
    ``table`` (kept between calls), equal subtrees of several expressions are one node
    (comparing them is then comparing identities), and a node met in an earlier call
    is not visited again."""
    table = {} if table is None else table
    memo = table.setdefault(_VISITED, {})     # id(node) -> (node, its one node): node kept alive
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not ready and isinstance(node, ir.Apply):
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args) if id(a) not in memo)
            continue
        if isinstance(node, ir.Apply):
            args = tuple(memo[id(a)][1] for a in node.args)
            key = (node.op, node.attrs, node.shape, tuple(id(a) for a in args))
            if key not in table:
                # by identity only: `==` of equal trees that are not the same objects walks
                # the written-out tree (4.5 million comparisons for softmax nested 18 deep)
                table[key] = node if all(x is y for x, y in zip(args, node.args)) \
                    else ir.apply(node.op, list(args), dict(node.attrs))
            memo[id(node)] = (node, table[key])
        else:
            memo[id(node)] = (node, table.setdefault(("leaf", node), node))
    return memo[id(expr)][1]


_VISITED = ("visited",)


def topological(expr: ir.Expr) -> list[ir.Expr]:
    """Every distinct node, each before all of its children (reverse postorder)."""
    post: list[ir.Expr] = []
    done: set[int] = set()
    stack: list[tuple[ir.Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            post.append(node)
            continue
        if id(node) in done:
            continue
        done.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(node.children()) if id(c) not in done)
    return post[::-1]


def needs_sharing(expr: ir.Expr, distinct: int | None = None) -> bool:
    written = ir.written_size(expr)
    return written > SHARE_ABOVE and written > SHARE_RATIO * (len(ir.distinct(expr)) if distinct is None else distinct)


def share(expr: ir.Expr, taken: set[str]) -> tuple[ir.Expr, list[tuple[str, ir.Expr]]]:
    """``(named, definitions)``: ``expr`` with its repeated pieces replaced by
    symbols, and each symbol's definition (children first).  An expression that
    prints at a size close to its graph's comes back unchanged, with no names."""
    size = len(ir.distinct(expr))
    if size > MAX_NODES:
        raise DerivationError(
            f"the result has {size:,} distinct subexpressions, more than the {MAX_NODES:,} matcalc "
            "writes out", hint="split the expression into smaller ones, or name intermediates and "
            "differentiate through them one at a time")
    if not needs_sharing(expr, size):
        return expr, []
    expr = intern(expr, once(("intern pool",), dict))     # (the results of a derivation share one pool)
    order = topological(expr)
    sizes = {id(node): ir.written_size(node) for node in order}
    uses = {id(expr): 1}
    chosen: list[ir.Expr] = []
    for node in order:
        used = uses.get(id(node), 0)
        if node is not expr and used >= 2 and isinstance(node, ir.Apply) and sizes[id(node)] >= min(
                MIN_NAMED, 2 if node.op in LETTERS else MIN_NAMED):
            chosen.append(node)
            used = 1
        for c in node.children():
            uses[id(c)] = uses.get(id(c), 0) + used
    return _name(expr, chosen[::-1], set(taken))


def _name(expr: ir.Expr, chosen: list[ir.Expr], taken: set[str]):
    """Give the chosen nodes (children first) names, numbered per letter in the
    order they are defined, and rewrite everything in those names."""
    letters = [LETTERS.get(n.op, LETTER) for n in chosen]
    counts: dict[str, int] = {}
    names: dict[int, str] = {}
    for node, letter in zip(chosen, letters):
        counts[letter] = counts.get(letter, 0) + 1
        name = f"{letter}{counts[letter]}"
        while name in taken:
            name += "_"
        taken.add(name)
        names[id(node)] = name
    body: dict[int, ir.Expr] = {}      # each node written in the names (a named node: its definition)
    for node in reversed(topological(expr)):
        if not isinstance(node, ir.Apply):
            body[id(node)] = node
            continue
        args = [ir.Symbol(shape=a.shape, name=names[id(a)]) if id(a) in names else body[id(a)] for a in node.args]
        same = all(x is y for x, y in zip(args, node.args))
        body[id(node)] = node if same else ir.apply(node.op, args, dict(node.attrs))
    return body[id(expr)], [(names[id(n)], body[id(n)]) for n in chosen]


def inline(expr: ir.Expr, definitions: dict[str, ir.Expr]) -> ir.Expr:
    """``expr`` with each symbol named in ``definitions`` replaced by its
    definition (written in the user's symbols): the inverse of :func:`share`."""
    out: dict[int, ir.Expr] = {}
    for node in reversed(topological(expr)):
        if isinstance(node, ir.Symbol) and node.name in definitions:
            out[id(node)] = definitions[node.name]
        elif isinstance(node, ir.Apply):
            args = [out[id(a)] for a in node.args]
            out[id(node)] = node if all(x is y for x, y in zip(args, node.args)) else ir.apply(
                node.op, args, dict(node.attrs))
        else:
            out[id(node)] = node
    return out[id(expr)]
