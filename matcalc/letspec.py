"""The expr.yaml keys of issue 14 read by :mod:`matcalc.spec`: ``let`` (named
intermediates) and dimensions written as products and sums (``[p*r, n+1]``).

Kept apart from spec.py, which checks the keys every document has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import dimexpr, ir
from .errors import SpecError, UnknownNameError, shown
from .ops import CALLABLE
from .matrix.share import inline
from .parse import parse
from .shapes import Dim
from .yamlsource import Node, Source


def declared_dim(source: Source, node: Node, dims: dict[str, int], what: str) -> Dim:
    """A shape entry written as a dimension expression (``p*r``, ``n+1``, ``2*n``),
    canonical (:func:`matcalc.dimexpr.declared`); an error with a caret on the bad part."""
    text = node.value
    try:
        dim = dimexpr.declared(text, dims)
    except dimexpr.DimSyntax as bad:
        locate = source.expr_locator(node, text, what=what)
        raise SpecError(bad.message, location=locate(bad.start, max(bad.end, bad.start + 1)),
                        hint=bad.hint) from None
    if isinstance(dim, int) and dim > 100_000:
        raise SpecError(f"the dimension {text!r} is {dim:,}; at most 100,000", location=source.at(node, what))
    return dim


# the expression with its lets put in, written out, has at most this many nodes: a let
# used twice by the next, 60 levels deep, is 2⁶⁰ nodes (what the engine would work on)
MAX_WRITTEN = 10_000


@dataclass(frozen=True)
class Let:
    """One named intermediate of ``let:``: ``name = text``; ``expr`` is it parsed, in the
    earlier names; ``full`` is it in the symbols (every earlier name put back in)."""

    name: str
    text: str
    expr: ir.Expr
    full: ir.Expr


def read_let(check, node: Node | None, symbols: dict[str, ir.Symbol], dims: dict[str, int]) -> tuple[Let, ...]:
    """The ``let:`` mapping, in order: each entry may use the symbols, the dims and the
    earlier entries.  ``check`` is spec's checker (its ``fail`` and ``identifier``)."""
    if node is None or node.value is None:
        return ()
    if not isinstance(node.value, dict):
        check.fail("let must map names to expressions (Z: X @ W), one per line, in order", node, what="let")
    texts = {k: v.value for k, v in node.value.items()}
    out: list[Let] = []
    env = dict(symbols)
    for at, (name, value) in enumerate(node.value.items()):
        key = getattr(value, "key_node", value)
        _check_name(check, key, name, symbols, dims)
        text = value.value
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str) or not text.strip():
            check.fail(f"let {name} must be an expression written as text, not {kind(value.value)}",
                       value, "e.g.  Z: X @ W", what=f"let.{name}")
        text = text.strip() if "\n" in text else text
        expr = _parse_entry(check, value, text, name, env, dims, texts, at)
        full = inline(expr, {d.name: d.full for d in out})
        out.append(Let(name, text, expr, full))
        env[name] = let_symbol(name, full)
    return tuple(out)


def let_symbol(name: str, full: ir.Expr) -> ir.Symbol:
    """A let's name as the parser sees it: with the props its definition has by its form
    (``symmetric``; ``spd`` where cholesky would take the definition), so that
    ``cholesky(K)`` with ``K: X @ X.T + eye(n)`` reads as ``cholesky(X @ X.T + eye(n))``
    does.  Parsing only: the engine differentiates the definitions put back in."""
    from .matrix.rules.common import is_symmetric
    from .ops.factor import spd_form

    props = set()
    if full.rank == 2 and full.shape[0] == full.shape[1]:
        props |= {"symmetric"} if is_symmetric(full) else set()
        props |= {"spd"} if spd_form(full) else set()
    return ir.Symbol(shape=full.shape, name=name, props=frozenset(props))


def named_expr(check, doc: dict, symbols, dims, text: str):
    """``(lets, named, full)``: the ``let:`` entries, the expression ``text`` parsed in
    their names, and with them put back in (what the engine differentiates)."""
    lets = read_let(check, doc.get("let"), symbols, dims)
    env = {**symbols, **{x.name: let_symbol(x.name, x.full) for x in lets}}
    named = parse(text, env, dims, check.source.expr_locator(doc["expr"], text))
    full = inline(named, {x.name: x.full for x in lets})
    if lets and not ir.written_within(full, MAX_WRITTEN):
        check.fail(f"with its let entries put in, the expression is more than {MAX_WRITTEN:,} operations "
                   "written out", doc["expr"], "each use of a let repeats its definition: a let used twice in "
                   "the next, level after level, doubles at every level; differentiate a smaller part",
                   what="expr")
    return lets, named, full


def wrt_not_let(check, node: Node | None, lets: tuple[Let, ...]) -> None:
    """``wrt: [H]`` with ``H`` a let intermediate: say what it is and what to do."""
    items = (node.value if isinstance(node.value, list) else [node]) if node is not None and node.value else []
    for item in items:
        hit = next((x for x in lets if x.name == item.value), None)
        if hit is not None:
            symbols = ", ".join(sorted(s.name for s in hit.full.symbols)) or "none"
            check.fail(f"wrt names {hit.name}, a let intermediate, not a symbol", item,
                       f"differentiate w.r.t. symbols: {hit.name} is made of {symbols}", what="wrt")


def _check_name(check, key: Node, name: str, symbols, dims) -> None:
    check.identifier(key, "a let name")
    for taken, what in ((symbols, "a symbol"), (dims, "a dimension")):
        if name in taken:
            check.fail(f"the let name {name!r} is already {what}", key,
                       "a let name is new: pick another (it names an intermediate)", what="let")
    if name in CALLABLE:
        check.fail(f"{name!r} is a function name and cannot name a let intermediate", key,
                   "pick another name", what="let")
    if name == "T":
        check.fail("'T' cannot name a let intermediate (it is the transpose attribute)", key, what="let")


def _parse_entry(check, value: Node, text: str, name: str, env, dims, texts: dict, at: int) -> ir.Expr:
    """``text`` parsed; a name of this or a later entry is a use before definition
    (or, when that entry uses this one, a cycle), with a caret on it."""
    asked: list[tuple[int, int]] = []
    located = check.source.expr_locator(value, text, what=f"let.{name}")

    def locate(start: int, end: int):
        asked.append((start, end))
        return located(start, end)

    try:
        return parse(text, env, dims, locate)
    except UnknownNameError as err:
        used = text[asked[-1][0]:asked[-1][1]] if asked else ""
        if used not in list(texts)[at:]:
            raise
        if used == name:
            message, hint = f"let {name} is defined in terms of itself", "a let entry uses only earlier ones"
        else:
            other = texts.get(used)
            cycle = isinstance(other, str) and re.search(rf"\b{re.escape(name)}\b", other)
            message = (f"let {name} and {used} are defined in terms of each other (a cycle)" if cycle
                       else f"let {name} uses {used} before it is defined")
            hint = (f"let entries are read in order, each may use only the earlier ones: "
                    f"{'break the cycle' if cycle else f'move {used} above {name}'}")
        raise SpecError(message, location=err.location, hint=hint) from None


def engine_form(lets: tuple[Let, ...], named: ir.Expr) -> tuple[ir.Expr, dict[str, ir.Expr]]:
    """The expression as the engine differentiates it, and each let's part of it:
    :func:`~matcalc.ir.rebalance` d one let at a time, so that a chain never crosses
    a let's boundary (``S @ V`` with ``V: X @ Wv`` stays ``S @ (X @ Wv)``, with ``V``
    in it to name)."""
    fulls: dict[str, ir.Expr] = {}
    for x in lets:
        fulls[x.name] = inline(ir.rebalance(x.expr), fulls)
    return inline(ir.rebalance(named), fulls), fulls


def kind(value) -> str:
    """What a YAML value is, in a message: ``a mapping``, ``a list``, ``nothing``, ``int 3``."""
    for type_, words in ((dict, "a mapping"), (list, "a list"), (type(None), "nothing")):
        if isinstance(value, type_):
            return words
    return f"{type(value).__name__} {shown(value)}"
