"""Readings of a node the rules share: a scalar factor, a product chain, signed terms,
an inverse, symmetry.  Pure functions of the IR; they rewrite nothing."""

from __future__ import annotations

import functools

from ... import ir
from ...ops import OPS
from .. import build as B


def rule(name: str, identity: str, roots, *, requires=(), cookbook: str = "", canonical: bool = False):
    """Decorator: the function below is the ``apply`` of a named :class:`Rule`."""
    from ..rule import Rule

    def wrap(fn):
        return Rule(name, identity, tuple(roots), fn, tuple(requires), cookbook, canonical)
    return wrap


def mul_opt(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return B.mul(a, b)


def split_scalar(e: ir.Expr):
    """``c * M -> (M, c)`` for a scalar factor c; ``M / c -> (M, 1/c)``; else (e, None)."""
    if isinstance(e, ir.Apply) and e.rank > 0:
        if e.op == "mul":
            a, b = e.args
            if a.rank == 0:
                inner, c = split_scalar(b)
                return inner, mul_opt(a, c)
            if b.rank == 0:
                inner, c = split_scalar(a)
                return inner, mul_opt(b, c)
        if e.op == "div" and e.args[1].rank == 0:
            inner, c = split_scalar(e.args[0])
            return inner, B.div(c if c is not None else B.ONE, e.args[1])
        if e.op == "neg":
            inner, c = split_scalar(e.args[0])
            return inner, B.neg(c if c is not None else B.ONE)
    return e, None


@functools.lru_cache(maxsize=4096)     # (a sum of a sum of ... the same node: each looked at once)
def is_symmetric(e: ir.Expr) -> bool:
    """Structurally symmetric: S (declared), I, diag(v), AᵀA, Xᵀ S X, A + Aᵀ, inv(S), c S, S1 + S2."""
    if e.rank < 2:
        return True
    if isinstance(e, ir.Symbol):     # (spd and psd imply symmetric; a symbol made by hand may not say so)
        return bool({"symmetric", "spd", "psd"} & e.props)
    if not isinstance(e, ir.Apply):
        return False
    if e.op in ("eye", "diag"):
        return True
    if e.op == "ones":
        return e.shape[0] == e.shape[1]
    if e.op == "outer":                 # x xᵀ
        return e.args[0] == e.args[1]
    if e.op == "kron":                  # S ⊗ T; K_nn (a permutation that is its own inverse)
        return all(x.rank == 2 and is_symmetric(x) for x in e.args)
    if e.op == "commutation":
        dims = e.attr("dims")
        return dims[0] == dims[-1]
    if e.op == "matmul":       # AᵀA, and Xᵀ S X for symmetric S (a congruence): a palindrome of transposes
        factors = chain(e)
        half, odd = divmod(len(factors), 2)
        return all(_mirror(factors[i], factors[-1 - i]) for i in range(half)) and (
            not odd or is_symmetric(factors[half]))
    if e.op in ("add", "sub"):
        a, b = e.args
        if not all(x.rank in (0, 2) for x in e.args):     # eye(n) - v broadcasts v along rows
            return False
        return (is_symmetric(a) and is_symmetric(b)) or (e.op == "add" and B.T(a) == b)
    if e.op in ("mul", "div"):
        a, b = e.args
        return all(x.rank == 0 or is_symmetric(x) for x in (a, b)) and e.rank == 2 \
            and all(x.rank in (0, 2) for x in (a, b))
    if e.op in ("inv", "neg"):
        return is_symmetric(e.args[0])
    if OPS[e.op].elementwise:      # f(A, B) of symmetric matrices (or scalars), any arity
        return all(x.rank in (0, 2) and is_symmetric(x) for x in e.args)
    return False


def _mirror(a: ir.Expr, b: ir.Expr) -> bool:
    """``b = aᵀ``: the two ends of a symmetric product (``A A`` for a symmetric ``A`` too)."""
    return B.T(a) == b or (a == b and is_symmetric(a))


def declared_symmetric(a: ir.Expr) -> bool:
    """Symmetric because of a declared prop (not merely I, diag(v) or AᵀA)."""
    syms = [s for s in a.symbols if "symmetric" in s.props]
    return bool(syms) and not B.is_op(a, "eye", "diag", "ones")


def terms(e: ir.Expr) -> list[tuple[int, ir.Expr]]:
    """Flatten a sum into signed terms: ``A - (B - C) -> [(1, A), (-1, B), (1, C)]``."""
    if B.is_op(e, "add"):
        return terms(e.args[0]) + terms(e.args[1])
    if B.is_op(e, "sub"):
        return terms(e.args[0]) + [(-s, t) for s, t in terms(e.args[1])]
    if B.is_op(e, "neg"):
        return [(-s, t) for s, t in terms(e.args[0])]
    return [(1, e)]


def chain(e: ir.Expr) -> list[ir.Expr]:
    """The factors of a matrix product, left to right, such that every run of
    neighbours multiplies again: a product of two vectors (a number) is one factor,
    since ``(Mᵀ v) w`` is not ``Mᵀ (v w)`` (campaign seed 20261207:
    ``sin(v0 @ M1 @ z0 + v2)`` w.r.t. ``v0`` regrouped ``v0 @ z0``)."""
    if B.is_op(e, "matmul") and not (e.args[0].rank == 1 and e.args[1].rank == 1):
        return chain(e.args[0]) + chain(e.args[1])
    return [e]


def product(factors: list[ir.Expr]) -> ir.Expr:
    out = factors[0]
    for f in factors[1:]:
        out = B.matmul(out, f)
    return out


def end(e: ir.Expr, side: int) -> ir.Expr:
    """The first (side 0) or last (side 1) factor of a product chain."""
    while B.is_op(e, "matmul"):
        e = e.args[side]
    return e


def inverse_form(e: ir.Expr) -> tuple[ir.Expr, bool, bool]:
    """``(P, inverted, transposed)`` for P, Pᵀ, P⁻¹, P⁻ᵀ (inv(Pᵀ) is P⁻ᵀ)."""
    inverted = transposed = False
    while True:
        if B.is_op(e, "transpose"):
            transposed, e = not transposed, e.args[0]
        elif B.is_op(e, "inv"):
            inverted, e = not inverted, e.args[0]
        else:
            return e, inverted, transposed


def inverse_pair(x: ir.Expr, y: ir.Expr) -> bool:
    """``P P⁻¹`` (or ``P⁻ᵀ Pᵀ``...): the two multiply to I."""
    if x.rank != 2 or y.rank != 2:
        return False
    px, ix, tx = inverse_form(x)
    py, iy, ty = inverse_form(y)
    return px == py and tx == ty and ix != iy


def transposes(e: ir.Expr) -> int:
    """The transposes in ``e`` written out (shared subtrees at every use), cached on
    each node: a rule asks it of the same chain at each of its links."""
    stack = [(e, False)]
    while stack:
        node, ready = stack.pop()
        if "_transposes" in node.__dict__:
            continue
        kids = node.children()
        if ready or not kids:
            node.__dict__["_transposes"] = B.is_op(node, "transpose") + sum(c.__dict__["_transposes"] for c in kids)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids)
    return e.__dict__["_transposes"]


def is_square(e: ir.Expr) -> bool:
    return e.rank == 2 and e.shape[0] == e.shape[1]
