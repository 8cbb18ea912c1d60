"""Triangles and signs: ``tril(L) = L`` for a lower triangular L (declared, or built
lower: ``cholesky(K)``, ``diag(v)``, products and sums of lower ones), the other
triangle of one is its diagonal, ``L⁻ᵀ L⁻¹ = K⁻¹`` for ``L = cholesky(K)``, and
``|X| = relu(X) = sqrt(X²) = X`` for X ≥ 0."""

from __future__ import annotations

from ... import ir
from .. import build as B
from ..rule import Fact
from .common import rule

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


RULES = (triangle_of_triangle, nonnegative_identity, cholesky_solve)
