"""The canonical order of terms and factors, read from the structure (never from a
printer): a term's leading symbol, in reading order, decides where it goes.

>>> from matcalc.ir import Symbol, apply
>>> X, W = Symbol(("n", "n"), "X"), Symbol(("n", "n"), "W")
>>> reading_key(apply("matmul", (apply("transpose", (X,)), W)))
'X.T @ W'
"""

from __future__ import annotations

from .. import ir
from ..ops import OPS


def term_key(node: ir.Expr) -> str:
    """Order terms by what they are, not by their numeric coefficient:
    ``X.T @ (S - Y) / n`` before ``2 * lam * W`` (by ``X`` vs ``lam``)."""
    return reading_key(_without_coefficient(node))


def _without_coefficient(node: ir.Expr) -> ir.Expr:
    """``2 * lam * W`` (a left-leaning product) without its leading number: ``lam * W``."""
    if not (isinstance(node, ir.Apply) and node.op == "mul"):
        return node
    a, b = node.args
    if isinstance(a, ir.Number):
        return b
    inner = _without_coefficient(a)
    return node if inner is a else ir.apply("mul", (inner, b))


KEY_NODES = 400


def reading_key(node: ir.Expr) -> str:
    """A structural key in reading order: leaf names, the op records' marks and
    parameters, left to right (``A @ (B - C)`` reads ``A @ (B - C)``), so terms
    sort by their leading symbol, shorter first.  It is read from the IR and the op
    records alone (no printer: a change of notation never changes an order).  Past
    KEY_NODES nodes written out, the structural hash, sorted after every other key,
    so ordering never costs more than the graph."""
    key = node.__dict__.get("_reading")       # cached on the node, as ir.digest is
    if key is None:
        if ir.written_size(node) > KEY_NODES:           # (cached on each node: a key costs its node)
            key = "\uffff" + ir.digest(node)
        else:
            key = _read(node)
        node.__dict__["_reading"] = key
    return key


def _read(node: ir.Expr) -> str:
    """The key of ``node`` from its children's keys (each cached on its node: a
    subtree is read once, however many keys contain it)."""
    if isinstance(node, ir.Number):
        return str(node.value)
    if not isinstance(node, ir.Apply):
        return getattr(node, "name", "")
    op = OPS[node.op]
    if op.syntax == "infix":
        return f" {op.written} ".join(_inner(a, op.precedence + (i > 0)) for i, a in enumerate(node.args))
    if op.syntax == "prefix":
        return op.written + _inner(node.args[0], op.precedence)
    if op.syntax == "postfix":
        return _inner(node.args[0], op.precedence) + op.written
    parts = [reading_key(a) for a in node.args] if node.args else [str(d) for d in node.attr("dims")]
    parts += [repr(v) if k == "ord" else f"{k}={v}" for k, v in node.attrs if k != "dims" and v is not None]
    return f"{op.written}({', '.join(parts)})"


def _inner(node: ir.Expr, tighter: int) -> str:
    loose = isinstance(node, ir.Apply) and OPS[node.op].precedence < tighter
    key = reading_key(node)
    return f"({key})" if loose else key
