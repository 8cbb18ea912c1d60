"""Triangles and signs: ``tril(L) = L`` for a lower triangular L (declared, or built
lower: ``cholesky(K)``, ``diag(v)``, products and sums of lower ones), the other
triangle of one is its diagonal, ``L⁻ᵀ L⁻¹ = K⁻¹`` for ``L = cholesky(K)``, and
``|X| = relu(X) = sqrt(X²) = X`` for X ≥ 0."""

from __future__ import annotations

from ... import ir
from .. import build as B
from ..rule import Fact
from .common import chain, is_symmetric, product, rule, terms

_SIDES = {"tril": "lower_triangular", "triu": "upper_triangular"}
_OTHER = {"lower_triangular": "upper_triangular", "upper_triangular": "lower_triangular"}


def triangle_of(e: ir.Expr, side: str) -> tuple[bool, ir.Symbol | None]:
    """Whether ``e`` is ``side`` (``lower_triangular``/``upper_triangular``), and the
    declared symbol that says so (None when its form alone does: ``tril(A)``, ``I``)."""
    if e.rank != 2:
        return False, None
    if isinstance(e, ir.Symbol):
        return (side in e.props or "diagonal" in e.props), (e if side in e.props or "diagonal" in e.props else None)
    if not isinstance(e, ir.Apply):
        return False, None
    if e.op in ("eye", "diag"):
        return True, None
    if e.op == "cholesky":
        return side == "lower_triangular", None
    if e.op in ("tril", "triu"):
        return _SIDES[e.op] == side, None
    if e.op in ("transpose", "inv"):
        ok, why = triangle_of(e.args[0], _OTHER[side] if e.op == "transpose" else side)
        return ok, why
    if e.op == "div" and e.args[1].rank != 0:      # L / M: 0 / 0 above the diagonal
        return False, None
    if e.op in ("matmul", "add", "sub", "mul", "div", "neg"):
        found = None
        for a in e.args:
            if a.rank == 0 and e.op in ("mul", "div"):
                continue
            ok, why = triangle_of(a, side)
            if not ok:
                return False, None
            found = found or why
        return True, found
    return False, None


@rule("prop-triangular", "tril(L) = L, triu(L) = diag(diag(L)) for lower triangular L (upper: the same "
      "turned over)", ["tril", "triu"], requires=["lower_triangular", "upper_triangular"], canonical=True)
def triangle_of_triangle(e, ctx):
    a = e.args[0]
    side = _SIDES[e.op]
    same, why = triangle_of(a, side)
    if same:
        if why is not None:
            ctx.note(Fact(side, why))
        return a
    other, why = triangle_of(a, _OTHER[side])
    if other and a.shape[0] == a.shape[1]:     # (of a rectangular one: no diag(diag(.)) form)
        if why is not None:
            ctx.note(Fact(_OTHER[side], why))
        return B.call("diag", B.call("diag", a))
    return None


def nonnegative(e: ir.Expr) -> ir.Symbol | None:
    """The symbol declared ``nonnegative`` (or ``positive``) that ``e`` is, or None."""
    if isinstance(e, ir.Symbol) and {"nonnegative", "positive"} & e.props:
        return e
    return None


@rule("prop-nonnegative", "|X| = relu(X) = maximum(X, 0) = sqrt(X²) = X for X ≥ 0",
      ["abs", "relu", "maximum", "sqrt"], requires=["nonnegative"])
def nonnegative_identity(e, ctx):
    a = e.args[0]
    if e.op == "maximum" and not B.is_num(e.args[1], 0):
        return None
    if e.op == "sqrt":
        if B.is_op(a, "pow") and B.is_num(a.args[1], 2):
            a = a.args[0]
        elif B.is_op(a, "square"):
            a = a.args[0]
        else:
            return None
    sym = nonnegative(a)
    if sym is None or a.shape != e.shape:
        return None
    ctx.note(Fact("nonnegative" if "nonnegative" in sym.props else "positive", sym))
    return a


@rule("cholesky-solve", "solve(Lᵀ, solve(L, B)) = solve(K, B) for L = cholesky(K): L⁻ᵀ L⁻¹ = K⁻¹", ["solve"])
def cholesky_solve(e, ctx):
    lt, inner = e.args
    if not (B.is_op(lt, "transpose") and B.is_op(lt.args[0], "cholesky") and B.is_op(inner, "solve")
            and inner.args[0] == lt.args[0]):
        return None
    return B.call("solve", lt.args[0].args[0], inner.args[1])


def _cholesky_inverse(e: ir.Expr, transposed: bool) -> ir.Expr | None:
    """K for ``inv(cholesky(K))`` (``transposed``: for ``inv(cholesky(K)).T``), else None."""
    if transposed:
        if not B.is_op(e, "transpose"):
            return None
        e = e.args[0]
    if B.is_op(e, "inv") and B.is_op(e.args[0], "cholesky"):
        return e.args[0].args[0]
    return None


@rule("cholesky-inverse", "L⁻ᵀ L⁻¹ = K⁻¹ for L = cholesky(K)", ["matmul"])
def cholesky_inverse(e, ctx):
    factors = chain(e)
    for n in range(len(factors) - 1):
        k = _cholesky_inverse(factors[n], True)
        if k is not None and _cholesky_inverse(factors[n + 1], False) == k:
            return product(factors[:n] + [B.call("inv", k)] + factors[n + 2:])
    return None


@rule("cholesky-transpose-solve", "Lᵀ K⁻¹ B = L⁻¹ B for L = cholesky(K): Lᵀ solve(K, B) = solve(L, B), "
      "Lᵀ outer(solve(K, y), z) = outer(solve(L, y), z)", ["matmul"])
def cholesky_transpose_solve(e, ctx):
    factors = chain(e)
    for n in range(len(factors) - 1):
        lt, nxt = factors[n], factors[n + 1]
        if not (B.is_op(lt, "transpose") and B.is_op(lt.args[0], "cholesky")):
            continue
        factor, k = lt.args[0], lt.args[0].args[0]
        if B.is_op(nxt, "solve") and nxt.args[0] == k:
            new = B.call("solve", factor, nxt.args[1])
        elif B.is_op(nxt, "outer") and B.is_op(nxt.args[0], "solve") and nxt.args[0].args[0] == k:
            new = B.call("outer", B.call("solve", factor, nxt.args[0].args[1]), nxt.args[1])
        else:
            continue
        return product(factors[:n] + [new] + factors[n + 2:])
    return None


@rule("cholesky-inverse-outer", "L⁻ᵀ x zᵀ = (solve(Lᵀ, x)) zᵀ and x zᵀ L⁻¹ = x (solve(Lᵀ, z))ᵀ for L = "
      "cholesky(K)", ["matmul"])
def cholesky_inverse_outer(e, ctx):
    factors = chain(e)
    for n in range(len(factors) - 1):
        left, right = factors[n], factors[n + 1]
        if B.is_op(right, "outer") and _cholesky_inverse(left, True) is not None:
            factor = left.args[0].args[0]
            new = B.call("outer", B.call("solve", B.T(factor), right.args[0]), right.args[1])
        elif B.is_op(left, "outer") and _cholesky_inverse(right, False) is not None:
            factor = right.args[0]
            new = B.call("outer", left.args[0], B.call("solve", B.T(factor), left.args[1]))
        else:
            continue
        return product(factors[:n] + [new] + factors[n + 2:])
    return None


@rule("triangle-of-scaled", "tril(c A) = c tril(A), tril(-A) = -tril(A) (triu the same)", ["tril", "triu"])
def triangle_of_scaled(e, ctx):
    a = e.args[0]
    if B.is_op(a, "neg"):
        return B.neg(B.call(e.op, a.args[0]))
    if B.is_op(a, "mul") and a.args[0].rank == 0 and a.args[1].rank == 2:
        return B.mul(a.args[0], B.call(e.op, a.args[1]))
    return None


def _triangle_part(sign: int, t: ir.Expr):
    """``(kind, X, sign)`` for a term ``tril(S)`` ("lower", S), ``tril(S)ᵀ`` ("upper", S)
    or ``diag(v)`` ("diagonal", v), else None."""
    if B.is_op(t, "tril"):
        return "lower", t.args[0], sign
    if B.is_op(t, "transpose") and B.is_op(t.args[0], "tril"):
        return "upper", t.args[0].args[0], sign
    if B.is_op(t, "diag") and t.args[0].rank == 1:
        v = t.args[0]
        return ("diagonal", v.args[0], -sign) if B.is_op(v, "neg") else ("diagonal", v, sign)
    return None


def _diagonals(s: ir.Expr) -> set[str]:
    """Digests of the ways the diagonal of ``s`` is written: ``diag(S)``; for ``x yᵀ``
    also ``x * y``, and ``x ** 2`` for ``x xᵀ``."""
    forms = [B.call("diag", s)]
    if B.is_op(s, "outer"):
        x, y = s.args
        forms += [ir.apply("mul", [x, y]), ir.apply("mul", [y, x])]
        if x == y:
            forms.append(ir.apply("pow", [x, B.num(2)]))
    return {ir.digest(f) for f in forms}


@rule("symmetric-from-triangle", "tril(S) + tril(S)ᵀ - diag(diag(S)) = S for symmetric S", ["add", "sub"])
def symmetric_from_triangle(e, ctx):
    signed = terms(e)
    parts = [_triangle_part(sign, t) for sign, t in signed]
    for n, part in enumerate(parts):
        if part is None or part[0] != "lower" or not is_symmetric(part[1]):
            continue
        _, s, sign = part
        diagonals = _diagonals(s)
        found = {}
        for m, other in enumerate(parts):
            if other is None:
                continue
            kind, x, sg = other
            if (kind == "upper" and sg == sign and ir.digest(x) == ir.digest(s)) or \
                    (kind == "diagonal" and sg == -sign and ir.digest(x) in diagonals):
                found.setdefault(kind, m)
        if len(found) == 2:
            gone = {n, *found.values()}
            rest = [(sg, t) for m, (sg, t) in enumerate(signed) if m not in gone]
            out = s if sign > 0 else B.neg(s)
            for sg, t in rest:
                out = B.add(out, t) if sg > 0 else B.sub(out, t)
            return out
    return None


@rule("diag-of-scaled-ones", "diag(c 1) = c I (the derivative of Σ log Lᵢᵢ through cholesky makes diag(1 * ones(n)))",
      ["diag"])
def diag_of_ones(e, ctx):
    a = e.args[0]
    if a.rank != 1:
        return None
    scale = None
    if B.is_op(a, "mul") and a.args[0].rank == 0 and B.is_ones(a.args[1]):
        scale = a.args[0]
    elif not B.is_ones(a):
        return None
    return B.eye(a.shape[0]) if scale is None else B.mul(scale, B.eye(a.shape[0]))


RULES = (triangle_of_triangle, cholesky_solve, diag_of_ones, cholesky_inverse, cholesky_transpose_solve,
         cholesky_inverse_outer, triangle_of_scaled)
REGION = (nonnegative_identity, symmetric_from_triangle)     # inside elementwise results (sums)
