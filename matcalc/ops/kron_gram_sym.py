"""Whether every weight ``T_i`` of a row-diagonal structure (:mod:`.kron_gram`) is
symmetric, read off the structure: ``T`` expanded into signed products of weights
(``diag(M[i])``, a constant ``C``, a per-row scalar ``w_i``) is symmetric when the
products, each reversed and transposed, are the same multiset.  Diagonal factors
next to each other commute, per-row scalars commute with everything.  A sufficient
test: "not shown" only costs the general (slower) Gram.

``zero_row_sums``: ``T_i 1 = 0`` for every row, shown the same way (each product applied
to the vector of ones, right to left; ``M 1 1ᵀ = 1 1ᵀ`` when the rows of ``M`` sum to 1:
softmax along its rows, a declared one-hot or stochastic matrix), which lets the Gram
fill the last block row and column from the others (softmax's ``diag(s) - s sᵀ``).
"""

from __future__ import annotations

from collections import Counter
from itertools import product

from .. import ir
from ..matrix import build as B
from ..registry import OPS

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


def zero_row_sums(s) -> bool:
    """``T_i 1 = 0`` for every row i, shown from the structure ``s``: the products of its
    expansion applied to 1 cancel in pairs."""
    terms = _expand(s)
    if terms is None or not terms:
        return False
    total: Counter = Counter()
    for coefs, atoms in terms:
        state = ("ones",)
        for a in reversed(atoms):
            state = _times_vector(a, state)
            if state is None:
                return False
        minus = sum(1 for c in coefs if c[0] == "c" and B.is_num(c[1], -1)) % 2
        rest = tuple(sorted((c for c in coefs if not (c[0] == "c" and B.is_num(c[1], -1))), key=repr))
        total[rest, state] += -1 if minus else 1
    return all(v == 0 for v in total.values())


def _times_vector(atom, state):
    """The weight ``atom`` times the per-row vector ``state`` (("ones",) or ("rows", V) with
    V [n, k] holding the vectors as rows); None when not followed."""
    kind, x = atom
    if kind == "diag":
        return ("rows", x) if state[0] == "ones" else ("rows", B.mul(x, state[1]))
    if B.is_ones(x) and state[0] == "rows" and unit_rows(state[1]):
        return ("ones",)                       # 1 1ᵀ v = 1 when the entries of v sum to 1
    return None


def unit_rows(y: ir.Expr) -> bool:
    """The rows of y sum to 1: softmax along its rows, a declared one-hot or stochastic matrix."""
    if isinstance(y, ir.Symbol):
        return bool({"onehot", "stochastic"} & y.props)
    return isinstance(y, ir.Apply) and bool(OPS[y.op].extra.get("sums_to_one")) and y.attr("axis") == 1
