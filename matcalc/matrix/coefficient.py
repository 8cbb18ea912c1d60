"""Read the matrix of a linear map off an expression that is linear in ``u``.

Reverse mode with a symbolic seed ``u`` gives ``Jᵀ u``; this module finds
``K`` with ``L(u) = K @ u`` (for a vector ``L``) or the vector ``w`` with
``L(u) = w @ u`` (for a scalar ``L``).  The rules are the ones a person uses:
``M @ u -> M``, ``v * u -> diag(v)``, ``v * (w @ u) -> outer(v, w)``.
"""

from __future__ import annotations

from .. import ir
from ..errors import NoMatrixFormError
from . import build as B


def _depends(e: ir.Expr, u: ir.Symbol) -> bool:
    return any(s.name == u.name for s in e.symbols)


def _fail(e: ir.Expr) -> NoMatrixFormError:
    from ..render.text import to_text
    return NoMatrixFormError(f"cannot write the Jacobian of `{to_text(e)}` as a matrix in the "
                             "expression language")


def matrix_of(L: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """``K`` with ``L = K @ u`` for a vector ``L`` linear in the vector ``u``."""
    if L.rank == 0:
        raise ValueError("use row_of for scalars")
    if isinstance(L, ir.Symbol) and L.name == u.name:
        return B.eye(u.shape[0])
    if not _depends(L, u):
        return B.ZERO
    if not isinstance(L, ir.Apply):
        raise _fail(L)
    op, args = L.op, L.args
    if op in ("add", "sub"):
        a, b = (_lift(x, L, u) for x in args)
        return B.add(a, b) if op == "add" else B.sub(a, b)
    if op == "neg":
        return B.neg(matrix_of(args[0], u))
    if op == "transpose":
        return matrix_of(args[0], u)
    if op in ("mul", "div"):
        consts, lin = _split_product(L, u)
        scalars = [c for c in consts if c.rank == 0]
        vectors = [c for c in consts if c.rank == 1 and not B.is_ones(c)]
        if len(scalars) + len(vectors) + sum(B.is_ones(c) for c in consts) != len(consts):
            raise _fail(L)
        scale = _product(scalars)
        if lin.rank == 0:                      # v * (w @ u) = outer(v, w) @ u
            if not vectors:
                raise _fail(L)
            K = B.outer(_product(vectors), row_of(lin, u))
        else:
            K = matrix_of(lin, u)
            if vectors:                        # v * (K u) = diag(v) K u
                K = B.matmul(B.call("diag", _product(vectors)), K)
        return B.mul(scale, K) if scale is not None else K
    if op in ("matmul", "dot"):
        a, b = args
        if _depends(a, u) and _depends(b, u):
            raise _fail(L)
        if _depends(b, u):
            if a.rank == 2 and b.rank == 1:
                return B.matmul(a, matrix_of(b, u))
            if a.rank == 1 and b.rank == 2:     # a @ B(u): only when B(u) = outer(p(u), q)
                raise _fail(L)
        else:
            if a.rank == 1 and b.rank == 2:     # a(u) @ M = Mᵀ a(u)
                return B.matmul(B.T(b), matrix_of(a, u))
            if a.rank == 2 and B.is_op(a, "outer"):   # outer(p(u), q) @ b = p(u) (q @ b)
                p, q = a.args
                if not _depends(q, u):
                    return B.mul(B.call("dot", q, b), matrix_of(p, u))
        raise _fail(L)
    if op == "sum" and L.rank == 1:
        raise _fail(L)
    raise _fail(L)


def _lift(x: ir.Expr, whole: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """A scalar term broadcast in a vector sum: ``c(u) = w @ u`` adds ``outer(1, w)``."""
    if x.rank == 0:
        return B.outer(B.ones(whole.shape), row_of(x, u)) if _depends(x, u) else B.ZERO
    return matrix_of(x, u)


def _split_product(L: ir.Expr, u: ir.Symbol) -> tuple[list[ir.Expr], ir.Expr]:
    """Flatten ``a * b / c * lin(u)`` into constant factors and the one linear factor."""
    consts: list[ir.Expr] = []
    lin: list[ir.Expr] = []
    stack = [L]
    while stack:
        e = stack.pop()
        if B.is_op(e, "mul"):
            stack.extend(e.args)
        elif B.is_op(e, "div") and not _depends(e.args[1], u):
            stack.append(e.args[0])
            consts.append(B.div(B.ONE, e.args[1]))
        elif _depends(e, u):
            lin.append(e)
        else:
            consts.append(e)
    if len(lin) != 1:
        raise _fail(L)
    return consts, lin[0]


def _product(factors: list[ir.Expr]) -> ir.Expr | None:
    out = None
    for f in factors:
        out = f if out is None else B.mul(out, f)
    return out


def row_of(L: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """The vector ``w`` with ``L = w @ u`` for a scalar ``L`` linear in ``u``."""
    if not _depends(L, u):
        return B.ZERO
    if not isinstance(L, ir.Apply):
        raise _fail(L)
    op, args = L.op, L.args
    if op == "add":
        return B.add(row_of(args[0], u), row_of(args[1], u))
    if op == "sub":
        return B.sub(row_of(args[0], u), row_of(args[1], u))
    if op == "neg":
        return B.neg(row_of(args[0], u))
    if op in ("mul", "div"):
        a, b = args
        if op == "div":
            if _depends(b, u) or b.rank != 0:
                raise _fail(L)
            return B.div(row_of(a, u), b)
        if a.rank == 0 and b.rank == 0:
            const, lin = (b, a) if _depends(a, u) else (a, b)
            if _depends(const, u):
                raise _fail(L)
            return B.mul(const, row_of(lin, u))
        raise _fail(L)
    if op == "sum" and u.rank == 2 and L.attr("axis") is None:   # Σ_ij (C ∘ u)_ij = C : u
        consts, lin = _split_product(args[0], u)
        if not (isinstance(lin, ir.Symbol) and lin.name == u.name):
            raise _fail(L)
        c = _product(consts)
        return B.ones(u.shape) if c is None else B.mul(c, B.ones(u.shape))
    if op == "sum" and args[0].rank == 1:       # Σ_i L_i = 1ᵀ K u
        return _column_sums(matrix_of(args[0], u))
    if op in ("matmul", "dot") and args[0].rank == 1 and args[1].rank == 1:
        a, b = args
        if _depends(a, u) and _depends(b, u):
            raise _fail(L)
        const, lin = (b, a) if _depends(a, u) else (a, b)
        return B.matmul(B.T(matrix_of(lin, u)), const)
    raise _fail(L)


def _column_sums(K: ir.Expr) -> ir.Expr:
    if B.is_eye(K):
        return B.ones((K.shape[1],))
    if B.is_op(K, "diag"):
        return K.args[0]
    return B.sum_(K, 0)
