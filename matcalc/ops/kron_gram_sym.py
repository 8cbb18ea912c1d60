"""Whether every weight ``T_i`` of a row-diagonal structure (:mod:`.kron_gram`) is
symmetric, read off the structure: ``T`` expanded into signed products of weights
(``diag(M[i])``, a constant ``C``, a per-row scalar ``w_i``) is symmetric when the
products, each reversed and transposed, are the same multiset.  Diagonal factors
next to each other commute, per-row scalars commute with everything.  A sufficient
test: "not shown" only costs the general (slower) Gram.
"""

from __future__ import annotations

from collections import Counter
from itertools import product

from .. import ir
from ..matrix import build as B

MOST_TERMS = 64


def symmetric(s) -> bool:
    """``T_i = T_iᵀ`` for every row i, shown from the structure ``s``."""
    terms = _expand(s)
    if terms is None:
        return False
    ahead = Counter(_normal(c, a) for c, a in terms)
    back = Counter(_normal(c, tuple(_flip(x) for x in reversed(a))) for c, a in terms)
    return ahead == back


def _expand(s):
    """``[(scalar factors, weight factors)]`` whose sum is ``s``, or None past MOST_TERMS."""
    kind = s[0]
    if kind == "eye":
        return [((), ())]
    if kind == "diag":
        return [(((("w", s[1]),), ())) if s[1].rank == 1 else ((), (("diag", s[1]),))]
    if kind == "const":
        return [((), (("const", s[1]),))]
    if kind == "prod":
        out = [((), ())]
        for p in s[1]:
            part = _expand(p)
            if part is None or len(out) * len(part) > MOST_TERMS:
                return None
            out = [(c1 + c2, a1 + a2) for (c1, a1), (c2, a2) in product(out, part)]
        return out
    out = []
    for c, p in s[1]:
        part = _expand(p)
        if part is None or len(out) + len(part) > MOST_TERMS:
            return None
        out += [(cs + ((("c", c),) if c is not None else ()), a) for cs, a in part]
    return out


def _flip(atom):
    kind, x = atom
    return (kind, x) if kind == "diag" or _sym(x) else (kind, B.T(x))


def _normal(coefs, atoms):
    """A hashable key: scalar factors sorted, each run of diagonal factors sorted."""
    out, run = [], []
    for a in atoms + (("end", None),):
        if a[0] == "diag":
            run.append(a)
            continue
        out += sorted(run, key=repr)
        run = []
        if a[0] != "end":
            out.append(a if not _sym(a[1]) else ("const", a[1]))
    return tuple(sorted(coefs, key=repr)), tuple(out)


def _sym(c: ir.Expr) -> bool:
    """A k×k constant that is structurally symmetric: I, diag(v), ones(k, k), a declared
    symmetric symbol, A Aᵀ-like palindromes, sums of those, A + Aᵀ, scalar multiples."""
    if c.rank < 2:
        return True
    if isinstance(c, ir.Symbol):
        return "symmetric" in c.props
    if B.is_eye(c) or B.is_op(c, "diag"):
        return True
    if B.is_ones(c):
        return c.shape[0] == c.shape[1]
    if B.is_op(c, "matmul"):
        f = B.matrix_factors(c)
        half, odd = divmod(len(f), 2)
        return all(_down(B.T(f[i])) == _down(f[-1 - i]) for i in range(half)) and (not odd or _sym(f[half]))
    if B.is_op(c, "add", "sub") and all(a.rank == 2 for a in c.args):
        a, b = c.args
        return (_sym(a) and _sym(b)) or (c.op == "add" and _down(B.T(a)) == _down(b))
    if B.is_op(c, "mul", "div") and any(a.rank == 0 for a in c.args):
        return all(a.rank == 0 or _sym(a) for a in c.args)
    if B.is_op(c, "neg"):
        return _sym(c.args[0])
    return False


def _down(e: ir.Expr) -> ir.Expr:
    """Transposes pushed through products: (A B)ᵀ = Bᵀ Aᵀ."""
    if B.is_op(e, "transpose") and B.is_op(e.args[0], "matmul") and e.rank == 2:
        a, b = e.args[0].args
        return ir.apply("matmul", (_down(B.T(b)), _down(B.T(a))))
    if B.is_op(e, "matmul") and e.rank == 2:
        return ir.apply("matmul", tuple(_down(a) for a in e.args))
    return e
