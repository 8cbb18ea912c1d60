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
    part = to_text(e).replace("_u", "v").replace("_v", "v")
    if len(part) > 70:
        part = part[:67] + "..."
    return NoMatrixFormError(
        "matcalc found no matrix form for this Jacobian (or Hessian): reading the matrix K off the "
        f"linear map v -> K v failed at `{part}`",
        hint="ask for the gradient of a scalar instead (order: 1), or simplify the expression")


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
            K = B.outer(_product(vectors) if vectors else B.ones(L.shape), row_of(lin, u))
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
            if a.rank == 1 and b.rank == 2:     # a @ B(u) = B(u)ᵀ a
                return _matrix_times(B.T(b), a, u, L)
        else:
            if a.rank == 1 and b.rank == 2:     # a(u) @ M = Mᵀ a(u)
                return B.matmul(B.T(b), matrix_of(a, u))
            if a.rank == 2 and b.rank == 1:
                return _matrix_times(a, b, u, L)
        raise _fail(L)
    if op == "diag" and args[0].rank == 2:
        return _diagonal_of(args[0], u, L)
    if op == "sum" and L.rank == 1 and args[0].rank == 2:      # A(u) 1 or A(u)ᵀ 1
        ones = B.ones((args[0].shape[L.attr("axis")],))
        return _matrix_times(args[0] if L.attr("axis") == 1 else B.T(args[0]), ones, u, L)
    raise _fail(L)


def _diagonal_of(A: ir.Expr, u: ir.Symbol, whole: ir.Expr) -> ir.Expr:
    """K with diag(A(u)) = K u: diag(p qᵀ) = p ∘ q, diag(p qᵀ M) = p ∘ Mᵀq,
    diag(M p qᵀ) = Mp ∘ q, with one of p, q linear in u."""
    if B.is_op(A, "add", "sub", "neg"):
        return _termwise(A.op, A.args, lambda x: _diagonal_of(x, u, whole), u)
    if B.is_op(A, "transpose"):
        return _diagonal_of(A.args[0], u, whole)
    p = q = None
    if B.is_op(A, "outer"):
        p, q = A.args
    elif B.is_op(A, "matmul") and A.args[0].rank == 2 and A.args[1].rank == 2:
        left, right = A.args
        if B.is_op(left, "outer") and not _depends(right, u):
            p, q = left.args[0], B.matmul(B.T(right), left.args[1])
        elif B.is_op(right, "outer") and not _depends(left, u):
            p, q = B.matmul(left, right.args[0]), right.args[1]
    if p is None or p.rank != 1 or q.rank != 1:
        raise _fail(whole)
    return matrix_of(B.mul(p, q), u)


def _matrix_times(A: ir.Expr, b: ir.Expr, u: ir.Symbol, whole: ir.Expr) -> ir.Expr:
    """K with A(u) b = K u, for a matrix A linear in u and a constant vector b.

    A is read as a weighted outer product ``s · C ∘ p qᵀ`` (:func:`_weighted_outer`);
    then ``(C ∘ p qᵀ) b = p ∘ C (q ∘ b)`` is linear in whichever of p, q holds u:
    ``diag(C (q ∘ b)) K_p`` or ``diag(p) C diag(b) K_q``; and ``diag(p) b = p ∘ b``."""
    def times(x):
        return _matrix_times(x, b, u, whole)

    if B.is_op(A, "add", "sub", "neg"):
        return _termwise(A.op, A.args, times, u)
    if B.is_op(A, "diag") and A.args[0].rank == 1:
        return B.matmul(B.call("diag", b), matrix_of(A.args[0], u))
    flip = B.is_op(A, "transpose")
    X = A.args[0] if flip else A
    if B.is_op(X, "add", "sub", "neg") and flip:        # (X1 ± X2)ᵀ = X1ᵀ ± X2ᵀ
        return _termwise(X.op, [B.T(x) for x in X.args], times, u)
    if B.is_op(X, "mul", "div"):
        consts, lin = _split_product(X, u)
        weights = _product(consts)
        if B.is_op(lin, "add", "sub", "neg"):         # C ∘ (L1 ± L2) = C ∘ L1 ± C ∘ L2
            parts = [B.mul(weights, x) if weights is not None else x for x in lin.args]
            parts = [x if x.shape == X.shape else B.mul(x, B.ones(X.shape)) for x in parts]
            if any(x.shape != X.shape for x in parts if _depends(x, u)):
                raise _fail(whole)
            return _termwise(lin.op, [B.T(x) if flip else x for x in parts], times, u)
        if lin.rank == 0 and weights is not None and weights.shape == X.shape:   # s(u) C b
            return B.outer(B.matmul(B.T(weights) if flip else weights, b), row_of(lin, u))
    scale, C, p, q = _weighted_outer(A, u, whole)
    if _depends(p, u) and not _depends(q, u):        # p_i Σ_j C_ij q_j b_j
        weights = B.call("dot", q, b) if C is None else B.matmul(C, B.mul(q, b))
        K = B.mul(weights, matrix_of(p, u)) if weights.rank == 0 \
            else B.matmul(_diag(weights), matrix_of(p, u))
    elif _depends(q, u) and not _depends(p, u):      # p_i Σ_j C_ij b_j q_j(u)
        if C is None:
            K = B.outer(p, B.matmul(B.T(matrix_of(q, u)), b))
        else:
            K = B.matmul(B.matmul(_diag(p), C), B.matmul(_diag(b), matrix_of(q, u)))
    else:
        raise _fail(whole)
    return K if scale is None else B.mul(scale, K)


def _termwise(op: str, parts, read, u: ir.Symbol) -> ir.Expr:
    """``read`` applied to each part of a sum, difference or negation (0 for parts free of u)."""
    terms = [read(x) if _depends(x, u) else B.ZERO for x in parts]
    if op == "neg":
        return B.neg(terms[0])
    return B.add(terms[0], terms[1]) if op == "add" else B.sub(terms[0], terms[1])


def _diag(v: ir.Expr) -> ir.Expr:
    return B.eye(v.shape[0]) if B.is_ones(v) else B.call("diag", v)


def _weighted_outer(A: ir.Expr, u: ir.Symbol, whole: ir.Expr):
    """``(s, C, p, q)`` with ``A = s · C ∘ p qᵀ``: s a scalar and C a full-shape
    matrix (either may be None), p and q vectors, one of them linear in u.

    The linear factor may be an outer product, a vector broadcast over the rows
    (``M * v`` is ``M ∘ 1 vᵀ``) or a column; weights of shape [n, 1] or [m]
    scale p or q; a transpose swaps p and q."""
    if B.is_op(A, "transpose"):
        s, C, p, q = _weighted_outer(A.args[0], u, whole)
        return s, (B.T(C) if C is not None else None), q, p
    consts, lin = _split_product(A, u) if B.is_op(A, "mul", "div") else ([], A)
    rows_n, cols_n = A.shape
    if B.is_op(lin, "outer") and lin.shape == A.shape:
        p, q = lin.args
    elif lin.rank == 1 and lin.shape == (cols_n,):             # 1 vᵀ
        p, q = B.ones((rows_n,)), lin
    elif lin.rank == 2 and lin.shape == (rows_n, 1) and cols_n != 1:   # v 1ᵀ
        p, q = B.sum_(lin, 1), B.ones((cols_n,))
    elif lin.rank == 2 and lin.shape == (1, cols_n) and rows_n != 1:   # 1 vᵀ
        p, q = B.ones((rows_n,)), B.sum_(lin, 0)
    else:
        raise _fail(whole)
    scalars, mats, rows, cols = [], [], [], []
    for c in consts:
        if c.rank == 0:
            scalars.append(c)
        elif c.shape == A.shape:
            mats.append(c)
        elif c.shape == (rows_n, 1):                 # (c 1ᵀ) ∘ p qᵀ = (c ∘ p) qᵀ
            rows.append(B.sum_(c, 1))
        elif c.shape in ((1, cols_n), (cols_n,)):
            cols.append(B.sum_(c, 0) if c.rank == 2 else c)
        else:
            raise _fail(whole)
    if rows:
        p = _product(rows) if B.is_ones(p) else B.mul(p, _product(rows))
    if cols:
        q = _product(cols) if B.is_ones(q) else B.mul(q, _product(cols))
    return _product(scalars), _product(mats), p, q


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
    """The ``w`` with ``L = w : u`` for a scalar ``L`` linear in ``u``.

    That is the gradient of ``L`` w.r.t. ``u``, which reverse mode finds for
    any composition (and which cannot depend on ``u``, since ``L`` is linear)."""
    from ..differentiate import backprop

    if not _depends(L, u):
        return B.ZERO
    return backprop(L, u)


def _column_sums(K: ir.Expr) -> ir.Expr:
    if B.is_eye(K):
        return B.ones((K.shape[1],))
    if B.is_op(K, "diag"):
        return K.args[0]
    return B.sum_(K, 0)
