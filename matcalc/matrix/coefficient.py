"""Read the matrix of a linear map off an expression linear in ``u``, by patterns.

Reverse mode with a symbolic seed ``u`` gives ``Jᵀ u``; this finds ``K`` with
``L(u) = K @ u`` by the rules a person uses (``M @ u -> M``, ``v * u -> diag(v)``,
``v * (w @ u) -> outer(v, w)``).  :mod:`.recognize` reads any such map; these
patterns remain where they keep a shorter, factored form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar

from .. import ir
from ..errors import NoMatrixFormError
from . import build as B


_GRADIENT: ContextVar[Callable[[ir.Expr, ir.Symbol], ir.Expr]] = ContextVar("gradient")


def _depends(e: ir.Expr, u: ir.Symbol) -> bool:
    return any(s.name == u.name for s in e.symbols)


def _fail(e: ir.Expr) -> NoMatrixFormError:
    """No pattern fits ``e`` (the message prints no part: the engine prints nothing)."""
    return NoMatrixFormError("no read-off pattern gives the matrix of this linear map")


def matrix_of(L: ir.Expr, u: ir.Symbol, gradient: Callable[[ir.Expr, ir.Symbol], ir.Expr]) -> ir.Expr:
    """``K`` with ``L = K @ u`` for a vector ``L`` linear in the vector ``u``;
    ``gradient(c, u)`` is the ``w`` with ``c = w @ u`` for a scalar ``c`` linear in ``u``
    (reverse mode, which this package may not import: it sits above it)."""
    token = _GRADIENT.set(gradient)
    try:
        return _matrix_of(L, u)
    finally:
        _GRADIENT.reset(token)


def _matrix_of(L: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """``K`` with ``L = K @ u`` for a vector ``L`` linear in the vector ``u``."""
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
        return B.neg(_matrix_of(args[0], u))
    if op == "transpose":
        return _matrix_of(args[0], u)
    if op in ("mul", "div"):
        consts, lin = _split_product(L, u)
        consts = [c for c in consts if not B.is_ones(c)]
        scalars = [_as_scalar(c) for c in consts if _broadcast_scalar(c, L.shape)]
        vectors = [c for c in consts if c.shape == L.shape]
        if len(scalars) + len(vectors) != len(consts):
            raise _fail(L)
        scale = _product(scalars)
        if _broadcast_scalar(lin, L.shape):    # v * (w @ u) = outer(v, w) @ u
            K = B.outer(_product(vectors) if vectors else B.ones(L.shape), row_of(_as_scalar(lin), u))
        else:
            K = _matrix_of(lin, u)
            if vectors:                        # v * (K u) = diag(v) K u
                K = B.matmul(B.call("diag", _product(vectors)), K)
        return B.mul(scale, K) if scale is not None else K
    if op in ("matmul", "dot"):
        a, b = args
        if _depends(a, u) and _depends(b, u):
            raise _fail(L)
        if _depends(b, u):
            if a.rank == 2 and b.rank == 1:
                return B.matmul(a, _matrix_of(b, u))
            if a.rank == 1 and b.rank == 2:     # a @ B(u) = B(u)ᵀ a
                return _matrix_times(B.T(b), a, u, L)
        else:
            if a.rank == 1 and b.rank == 2:     # a(u) @ M = Mᵀ a(u)
                return B.matmul(B.T(b), _matrix_of(a, u))
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
    """K with diag(A(u)) = K u, for a matrix A linear in u.

    A, or the one factor of a matmul chain ``L A(u) R`` that holds u, is read as
    a weighted outer product ``s · C ∘ p qᵀ`` (:func:`_weighted_outer`); then
    ``diag(C ∘ p qᵀ) = diag(C) ∘ p ∘ q``, ``diag(L p qᵀ R) = L p ∘ Rᵀ q``,
    ``diag((C ∘ p qᵀ) R) = p ∘ (C ∘ Rᵀ) q`` and ``diag(L (C ∘ p qᵀ)) = q ∘ (L ∘ Cᵀ) p``,
    a vector linear in u (the Matrix Cookbook's ``diag(A diag(x) B) = (A ∘ Bᵀ) x``)."""
    split = _split_sum(A, u)
    if split is not None:
        return _termwise(*split, lambda x: _diagonal_of(x, u, whole), u)
    if B.is_op(A, "transpose"):
        return _diagonal_of(A.args[0], u, whole)
    if B.is_op(A, "diag") and A.args[0].rank == 1:             # diag(diag(w)) = w
        return _matrix_of(A.args[0], u)
    chain = _matmul_chain(A)
    at = [i for i, f in enumerate(chain) if _depends(f, u)]
    if len(at) != 1 or any(f.rank != 2 for f in chain):
        raise _fail(whole)
    left, X, right = chain[:at[0]], chain[at[0]], chain[at[0] + 1:]
    scale, C, p, q = _weighted_outer(X, u, whole)
    L, R = _chain_product(left), _chain_product(right)
    if C is None:
        d = B.mul(p if L is None else B.matmul(L, p), q if R is None else B.matmul(B.T(R), q))
    elif L is None and R is None:
        d = B.mul(B.call("diag", C), B.mul(p, q))
    elif L is None:
        d = B.mul(p, B.matmul(B.mul(C, B.T(R)), q))
    elif R is None:
        d = B.mul(q, B.matmul(B.mul(L, B.T(C)), p))
    else:
        raise _fail(whole)    # Σ_jk L_ij C_jk p_j q_k R_ki: no matrix reading
    return _matrix_of(d if scale is None else B.mul(scale, d), u)


def _matmul_chain(A: ir.Expr) -> list[ir.Expr]:
    """The factors of ``A1 @ A2 @ ... @ Ak`` (matrices), in order."""
    if B.is_op(A, "matmul") and A.args[0].rank == 2 and A.args[1].rank == 2:
        return _matmul_chain(A.args[0]) + _matmul_chain(A.args[1])
    return [A]


def _split_sum(X: ir.Expr, u: ir.Symbol):
    """``(op, parts)`` for a sum, difference or negation ``X`` (each part at X's shape),
    or for a matmul chain around one, distributed: ``L (X1 ± X2) R = L X1 R ± L X2 R``;
    None for anything else."""
    if B.is_op(X, "add", "sub", "neg"):
        return X.op, _full_parts(X)
    chain = _matmul_chain(X)
    at = [i for i, f in enumerate(chain) if _depends(f, u)]
    if len(chain) < 2 or len(at) != 1 or not B.is_op(chain[at[0]], "add", "sub", "neg"):
        return None
    i, inner = at[0], chain[at[0]]
    return inner.op, [_chain_product(chain[:i] + [x] + chain[i + 1:]) for x in _full_parts(inner)]


def _chain_product(factors: list[ir.Expr]) -> ir.Expr | None:
    """f1 @ f2 @ ... (None for no factors)."""
    return functools.reduce(B.matmul, factors) if factors else None


def _matrix_times(A: ir.Expr, b: ir.Expr, u: ir.Symbol, whole: ir.Expr) -> ir.Expr:
    """K with A(u) b = K u, for a matrix A linear in u and a constant vector b.

    A is read as a weighted outer product ``s · C ∘ p qᵀ`` (:func:`_weighted_outer`);
    then ``(C ∘ p qᵀ) b = p ∘ C (q ∘ b)`` is linear in whichever of p, q holds u:
    ``diag(C (q ∘ b)) K_p`` or ``diag(p) C diag(b) K_q``; and ``diag(p) b = p ∘ b``."""
    def times(x):
        return _matrix_times(x, b, u, whole)

    if B.is_op(A, "add", "sub", "neg"):
        return _termwise(A.op, _full_parts(A), times, u)
    if B.is_op(A, "diag") and A.args[0].rank == 1:
        return B.matmul(_diag(b), _matrix_of(A.args[0], u))
    flip = B.is_op(A, "transpose")
    X = A.args[0] if flip else A
    if B.is_op(X, "matmul") and X.args[0].rank == 2 and X.args[1].rank == 2:
        left, right = (B.T(X.args[1]), B.T(X.args[0])) if flip else X.args   # (L R)ᵀ = Rᵀ Lᵀ
        if not _depends(left, u):                    # (L X(u)) b = L (X(u) b)
            return B.matmul(left, times(right))
        if not _depends(right, u):                   # (X(u) R) b = X(u) (R b)
            return _matrix_times(left, B.matmul(right, b), u, whole)
        raise _fail(whole)
    if B.is_op(X, "add", "sub", "neg") and flip:        # (X1 ± X2)ᵀ = X1ᵀ ± X2ᵀ
        return _termwise(X.op, [B.T(x) for x in _full_parts(X)], times, u)
    if B.is_op(X, "mul", "div"):
        consts, lin = _split_product(X, u)
        weights = _product(consts)
        split = _split_sum(lin, u)
        if split is not None:                         # C ∘ (L1 ± L2) = C ∘ L1 ± C ∘ L2
            op, parts = split
            parts = [_full(B.mul(weights, x) if weights is not None else x, X.shape) for x in parts]
            return _termwise(op, [B.T(x) if flip else x for x in parts], times, u)
        if _broadcast_scalar(lin, X.shape):           # s(u) C b = (C b)(wᵀ u)
            W = _full(weights, X.shape)
            return B.outer(B.matmul(B.T(W) if flip else W, b), row_of(_as_scalar(lin), u))
        if lin.shape == X.shape and not B.is_op(lin, "outer"):
            s, C, alpha, beta = _weights(consts, X.shape, whole)
            if C is None:                             # (s α βᵀ ∘ L) b = s α ∘ L (β ∘ b)
                if flip:
                    alpha, beta, lin = beta, alpha, B.T(lin)
                K = _matrix_times(lin, b if beta is None else B.mul(beta, b), u, whole)
                K = K if alpha is None else B.matmul(_diag(alpha), K)
                return K if s is None else B.mul(s, K)
    scale, C, p, q = _weighted_outer(A, u, whole)
    if _depends(p, u) and not _depends(q, u):        # p_i Σ_j C_ij q_j b_j
        weights = B.call("dot", q, b) if C is None else B.matmul(C, B.mul(q, b))
        K = B.mul(weights, _matrix_of(p, u)) if weights.rank == 0 \
            else B.matmul(_diag(weights), _matrix_of(p, u))
    elif _depends(q, u) and not _depends(p, u):      # p_i Σ_j C_ij b_j q_j(u)
        if C is None:
            K = B.outer(p, B.matmul(B.T(_matrix_of(q, u)), b))
        else:
            K = B.matmul(B.matmul(_diag(p), C), B.matmul(_diag(b), _matrix_of(q, u)))
    else:
        raise _fail(whole)
    return K if scale is None else B.mul(scale, K)


def _termwise(op: str, parts, read, u: ir.Symbol) -> ir.Expr:
    """``read`` applied to each part of a sum, difference or negation (0 for parts free of u)."""
    terms = [read(x) if _depends(x, u) else B.ZERO for x in parts]
    if op == "neg":
        return B.neg(terms[0])
    return B.add(terms[0], terms[1]) if op == "add" else B.sub(terms[0], terms[1])


def _full(x: ir.Expr, shape) -> ir.Expr:
    """``x`` as the ``shape`` matrix numpy broadcasts it to (``x ∘ 1 1ᵀ``): a part of a matrix
    sum may be a scalar, a ``[m]`` vector, a ``[n, 1]`` column or a ``[1, m]`` row (``log(v) + M``
    for ``M: [n, 1]``); a reader, and above all a transpose (``vᵀ = v`` for a vector, but
    ``(1 vᵀ)ᵀ = v 1ᵀ``), needs the part at the shape it has in the sum."""
    return x if x.shape == tuple(shape) else B.mul(x, B.ones(shape))


def _full_parts(X: ir.Apply) -> list[ir.Expr]:
    """The parts of the sum, difference or negation ``X``, each at ``X``'s shape."""
    return [_full(x, X.shape) for x in X.args]


def _diag(v: ir.Expr) -> ir.Expr:
    return B.eye(v.shape[0]) if B.is_ones(v) else B.call("diag", v)


def _weighted_outer(A: ir.Expr, u: ir.Symbol, whole: ir.Expr):
    """``(s, C, p, q)`` with ``A = s · C ∘ p qᵀ``: s a scalar and C a full-shape
    matrix (either may be None), p and q vectors, one of them linear in u.

    A is a Hadamard product of constants (:func:`_weights`) and one factor linear
    in u, read by :func:`_outer_reading`; a transpose swaps p and q."""
    if B.is_op(A, "transpose"):
        s, C, p, q = _weighted_outer(A.args[0], u, whole)
        return s, (B.T(C) if C is not None else None), q, p
    consts, lin = _split_product(A, u) if B.is_op(A, "mul", "div") else ([], A)
    s, C, p, q = _outer_reading(lin, A.shape, u, whole)
    s2, C2, rows, cols = _weights(consts, A.shape, whole)
    if rows is not None:                             # (α 1ᵀ) ∘ p qᵀ = (α ∘ p) qᵀ
        p = rows if B.is_ones(p) else B.mul(p, rows)
    if cols is not None:                             # (1 βᵀ) ∘ p qᵀ = p (β ∘ q)ᵀ
        q = cols if B.is_ones(q) else B.mul(q, cols)
    return _mul_opt(s, s2), _mul_opt(C, C2), p, q


def _outer_reading(lin: ir.Expr, shape, u: ir.Symbol, whole: ir.Expr):
    """``(s, C, p, q)`` with ``lin = s · C ∘ p qᵀ`` as broadcast to the ``[n, m]`` shape.

    ``outer(p, q)``; a vector broadcast over the rows (``1 vᵀ``), a ``[n, 1]``
    column (``v 1ᵀ``), a ``[1, m]`` row or a scalar; ``diag(w) = I ∘ w 1ᵀ``; and matmul
    chains: ``L p qᵀ R = (L p)(Rᵀ q)ᵀ``, ``diag(w) N = N ∘ w 1ᵀ``, ``N diag(w) = N ∘ 1 wᵀ``."""
    rows_n, cols_n = shape
    if B.is_op(lin, "neg"):
        s, C, p, q = _outer_reading(lin.args[0], shape, u, whole)
        return _mul_opt(B.num(-1), s), C, p, q
    if B.is_op(lin, "transpose") and lin.shape == tuple(shape):
        s, C, p, q = _outer_reading(lin.args[0], (cols_n, rows_n), u, whole)
        return s, (B.T(C) if C is not None else None), q, p
    if B.is_op(lin, "mul", "div") and lin.shape == tuple(shape):      # a nested weighted product
        return _weighted_outer(lin, u, whole)
    if B.is_op(lin, "outer") and lin.shape == tuple(shape):
        return None, None, lin.args[0], lin.args[1]
    if lin.rank == 1 and lin.shape == (cols_n,):             # 1 vᵀ
        return None, None, B.ones((rows_n,)), lin
    if lin.rank == 2 and lin.shape == (rows_n, 1) and cols_n != 1:   # v 1ᵀ
        return None, None, B.sum_(lin, 1), B.ones((cols_n,))
    if lin.rank == 2 and lin.shape == (1, cols_n) and rows_n != 1:   # 1 vᵀ
        return None, None, B.ones((rows_n,)), B.sum_(lin, 0)
    if _broadcast_scalar(lin, shape):                         # s(u) 1 1ᵀ = (s(u) 1) 1ᵀ
        return None, None, B.mul(_as_scalar(lin), B.ones((rows_n,))), B.ones((cols_n,))
    if B.is_op(lin, "diag") and lin.args[0].rank == 1 and lin.shape == tuple(shape):
        return None, B.eye(rows_n), lin.args[0], B.ones((cols_n,))      # diag(w) = I ∘ w 1ᵀ
    if B.is_op(lin, "matmul") and lin.shape == tuple(shape) and all(a.rank == 2 for a in lin.args):
        chain = _matmul_chain(lin)
        at = [i for i, f in enumerate(chain) if _depends(f, u)]
        if len(at) == 1:
            left, X, right = chain[:at[0]], chain[at[0]], chain[at[0] + 1:]
            alpha = beta = None              # diag(α) (C ∘ p qᵀ) diag(β) = C ∘ (α ∘ p)(β ∘ q)ᵀ
            while left and _is_diag(left[-1]):
                alpha = _mul_opt(left.pop().args[0], alpha)
            while right and _is_diag(right[0]):
                beta = _mul_opt(beta, right.pop(0).args[0])
            L, R = _chain_product(left), _chain_product(right)
            if _is_diag(X) and (L is None) != (R is None):
                w = _mul_opt(_mul_opt(alpha, X.args[0]), beta)
                if L is None:                                # diag(w) R = R ∘ w 1ᵀ
                    return None, R, w, B.ones((cols_n,))
                return None, L, B.ones((rows_n,)), w         # L diag(w) = L ∘ 1 wᵀ
            s, C, p, q = _outer_reading(X, X.shape, u, whole)
            p, q = _mul_opt(alpha, p), _mul_opt(q, beta)
            if C is None:                                    # L p qᵀ R = (L p)(Rᵀ q)ᵀ
                return (s, None, p if L is None else B.matmul(L, p),
                        q if R is None else B.matmul(B.T(R), q))
            if L is None and R is None:
                return s, C, p, q
    raise _fail(whole)


def _is_diag(x: ir.Expr) -> bool:
    return B.is_op(x, "diag") and x.args[0].rank == 1


def _mul_opt(a: ir.Expr | None, b: ir.Expr | None) -> ir.Expr | None:
    if a is None:
        return b
    return a if b is None else B.mul(a, b)


def _weights(consts: list[ir.Expr], shape, whole: ir.Expr):
    """``(s, C, α, β)`` with ``Π consts = s · C ∘ α βᵀ`` at the ``[n, m]`` ``shape``:
    scalars, full-shape matrices, ``[n, 1]`` columns (α, by rows) and ``[1, m]`` rows
    or ``[m]`` vectors (β, by columns); each may be None.  A ``ones`` is weight 1."""
    rows_n, cols_n = shape
    scalars, mats, rows, cols = [], [], [], []
    for c in consts:
        if B.is_ones(c):                             # a broadcast (see _full): weight 1
            continue
        if _broadcast_scalar(c, shape):
            scalars.append(_as_scalar(c))
        elif c.shape == (rows_n, 1):                 # (first: at [n, 1] a column is a weight
            rows.append(B.sum_(c, 1))                # by rows, not a full matrix C)
        elif c.shape in ((1, cols_n), (cols_n,)):
            cols.append(B.sum_(c, 0) if c.rank == 2 else c)
        elif c.shape == tuple(shape):
            mats.append(c)
        else:
            raise _fail(whole)
    return _product(scalars), _product(mats), _product(rows), _product(cols)


def _lift(x: ir.Expr, whole: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """A scalar term broadcast in a vector sum: ``c(u) = w @ u`` adds ``outer(1, w)``."""
    if _broadcast_scalar(x, whole.shape):
        return B.outer(B.ones(whole.shape), row_of(_as_scalar(x), u)) if _depends(x, u) else B.ZERO
    return _matrix_of(x, u)


def _broadcast_scalar(x: ir.Expr, shape) -> bool:
    """Whether ``x`` takes part in a ``shape`` result as one number: a scalar, or a
    ``[1]`` / ``[1, 1]`` array broadcast over a larger shape (``logsumexp(R, axis=1)``
    for ``R: [1, n]`` is ``[1]``; times ``v: [n]`` it scales v, it is no diag(·) of
    size 1)."""
    return x.rank == 0 or (x.shape != tuple(shape) and all(d == 1 for d in x.shape))


def _as_scalar(x: ir.Expr) -> ir.Expr:
    """The one entry of a scalar-like ``x`` as a scalar (``sum`` of a ``[1]`` vector)."""
    return x if x.rank == 0 else B.sum_(x)


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
    """f1 ∘ f2 ∘ ... (None for no factors)."""
    return functools.reduce(B.mul, factors) if factors else None


def row_of(L: ir.Expr, u: ir.Symbol) -> ir.Expr:
    """The ``w`` with ``L = w : u`` for a scalar ``L`` linear in ``u``.

    That is the gradient of ``L`` w.r.t. ``u``, which reverse mode finds for
    any composition (and which cannot depend on ``u``, since ``L`` is linear)."""
    if not _depends(L, u):
        return B.ZERO
    return _GRADIENT.get()(L, u)
