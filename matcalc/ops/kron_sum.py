"""Emission rule ``kron-sum-in-place``: a sum holding Kronecker products with an
identity factor is computed in one array, each term written where it lands::

    kron(eye(m), A) + kron(eye(m), A.T) + c * eye(m*n) - D
        t1 = _eye_kron(m, A + A.T)     # the blocks of the same kind merged: kron is linear
        _add_diagonal(t1, c)           # c I touches the diagonal only
        t1 -= D                        # a dense term is one pass, in place

instead of two dense Kronecker products, an identity and three passes of
additions.  The array-API target only merges the Kronecker terms (its arrays may be
immutable).  Only terms computed nowhere else are opened: a named or shared value is
used as it is.
"""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, emit_rule
from ..shapes import show
from .kron_code import (
    ADD_DIAGONAL,
    EYE_KRON,
    HELPERS,
    KRON_EYE,
    MOST_TERMS,
    eye_left,
    eye_right,
)

BLOCKS, INTERLEAVED, DIAGONAL, DENSE = "blocks", "interleaved", "diagonal", "dense"


def signed_terms(node: ir.Expr, pr, inner: list | None = None) -> list[tuple[bool, ir.Expr | None, ir.Expr]] | None:
    """``[(negated, scalar factor or None, term)]``: the terms of the sum ``node``
    left to right, through ``+``, ``-``, negation and scalar multiples (the nodes
    opened are appended to ``inner``); None past :data:`MOST_TERMS`.  Iterative, and
    only unnamed, unshared nodes are opened."""
    out: list[tuple[bool, ir.Expr | None, ir.Expr]] = []
    stack: list[tuple[ir.Expr, bool, ir.Expr | None]] = [(node, False, None)]
    while stack:
        e, negated, scale = stack.pop()
        op = e.op if isinstance(e, ir.Apply) and (e is node or (e not in pr.names and e not in pr.shared)) else None
        if op in ("add", "sub", "neg") and all(a.shape == node.shape for a in e.args):
            if op != "neg":
                stack.append((e.args[1], negated != (op == "sub"), scale))
            stack.append((e.args[0], negated != (op == "neg"), scale))
        elif op == "mul" and e.args[0].rank + e.args[1].rank == 2 and e.rank == 2:
            c, x = e.args if e.args[0].rank == 0 else reversed(e.args)
            stack.append((x, negated, c if scale is None else B.mul(scale, c)))
        else:
            out.append((negated, scale, e))
            if len(out) > MOST_TERMS:
                return None
            continue
        if inner is not None:
            inner.append(e)
    return out


def _kind(term: ir.Expr, pr):
    """What a term is, and the size of its identity factor."""
    if term in pr.names or term in pr.shared:
        return DENSE, None
    if (found := eye_left(term)) is not None:
        return BLOCKS, found[0]
    if (found := eye_right(term)) is not None:
        return INTERLEAVED, found[1]
    if B.is_eye(term) or (B.is_op(term, "diag") and term.args[0].rank == 1):
        return DIAGONAL, None
    return DENSE, None


def _plus(total: ir.Expr | None, negated: bool, x: ir.Expr) -> ir.Expr:
    if total is None:
        return B.neg(x) if negated else x
    return B.sub(total, x) if negated else B.add(total, x)


def _sum_in_place(node, pr):
    """Σ kron(eye(a), A_k) = kron(eye(a), Σ A_k) (and with eye on the right), then the
    diagonal and the dense terms added into that one array."""
    numpy, plain = pr.target == "numpy", pr.scratch.setdefault("sums without structure", set())
    if node.rank != 2 or node in plain:
        return None
    inner: list[ir.Expr] = []
    terms = signed_terms(node, pr, inner)
    if not terms or len(terms) < 2:
        return None
    kinds = [_kind(t, pr) for _, _, t in terms]
    if not any(k in (BLOCKS, INTERLEAVED) for k, _ in kinds) and not (numpy and DIAGONAL in dict(kinds)):
        plain.update(inner)      # the sums inside hold no such term either
        return None
    groups: dict[tuple, ir.Expr] = {}
    diagonal, dense = None, []
    for (negated, scale, t), (kind, a) in zip(terms, kinds):
        if kind in (BLOCKS, INTERLEAVED):
            factor = t.args[1] if kind == BLOCKS else t.args[0]
            groups[kind, a] = _plus(groups.get((kind, a)), negated, factor if scale is None else B.mul(scale, factor))
        elif kind == DIAGONAL and numpy:
            d = t.args[0] if B.is_op(t, "diag") else B.num(1)
            diagonal = _plus(diagonal, negated, d if scale is None else B.mul(scale, d))
        else:
            dense.append((negated, t if scale is None else B.mul(scale, t)))
    if not groups:
        return _diagonal_in_place(node, pr, diagonal, dense)
    pieces = [B.call("kron", B.eye(a), g) if kind == BLOCKS else B.call("kron", g, B.eye(a))
              for (kind, a), g in groups.items()]
    if not numpy or (len(pieces) == 1 and diagonal is None and not dense):
        if len(pieces) + len(dense) >= len(terms):
            return None
        total = None
        for x in pieces:
            total = _plus(total, False, x)
        for negated, x in dense:
            total = _plus(total, negated, x)
        return total
    return _written_in_place(node, pr, groups, diagonal, dense, len(terms))


def _diagonal_in_place(node, pr, diagonal, dense):
    """D + c I (or + diag(v)) with D an array made here: D, then its diagonal added to,
    instead of an identity built, scaled and added (three passes over the matrix)."""
    total = None
    for negated, x in dense:
        total = _plus(total, negated, x)
    if total is None or not _made_here(total, pr):
        return None
    text = pr.text(total)
    name = pr.fresh()
    pr.statement(f"{name} = {text}  # {show(node.shape)}: its diagonal is added to below")
    pr.statement(f"{pr.helper(ADD_DIAGONAL)}({name}, {pr.text(diagonal)})")
    return name, PREC_ATOM


def _made_here(e: ir.Expr, pr) -> bool:
    """A new array that nothing else holds: the result of arithmetic or of a product
    (not a symbol, a view such as a transpose or a reshape, or a value named for reuse;
    a product with a commutation matrix or its transpose is a reshape, which may be a
    view when m or n is 1)."""
    if e in pr.names or e in pr.shared or not B.is_op(e, "add", "sub", "mul", "div", "neg", "pow", "matmul"):
        return False
    return not (B.is_op(e, "matmul") and any(B.is_op(a, "commutation") or (B.is_op(a, "transpose") and
                                                                          B.is_op(a.args[0], "commutation"))
                                             for a in e.args))


def _written_in_place(node, pr, groups, diagonal, dense, count: int):
    name = ""
    for k, ((kind, a), g) in enumerate(groups.items()):
        helper = pr.helper(EYE_KRON if kind == BLOCKS else KRON_EYE)
        args = f"{pr.dim(a)}, {pr.text(g)}" if kind == BLOCKS else f"{pr.text(g)}, {pr.dim(a)}"
        if k == 0:      # named after its parts, which may name intermediates of their own
            name = pr.fresh()
            pr.statement(f"{name} = {helper}({args})  # {show(node.shape)}: a sum of {count} terms, in one array")
        else:
            pr.statement(f"{helper}({args}, {name})")
    if diagonal is not None:
        pr.statement(f"{pr.helper(ADD_DIAGONAL)}({name}, {pr.text(diagonal)})")
    for negated, x in dense:
        pr.statement(f"{name} {'-=' if negated else '+='} {pr.text(x)}")
    return name, PREC_ATOM


_USES = {name: HELPERS[name] for name in (EYE_KRON, KRON_EYE, ADD_DIAGONAL)}
for _root in ("add", "sub"):
    emit_rule(EmitRule("kron-sum-in-place", "Σ kron(eye(a), A_k) + c I + D = kron(eye(a), Σ A_k) + c I + D, "
                       "in one array", _root, _sum_in_place, _USES))
