"""Linear algebra: ``det logdet inv diag outer dot kron``.

``inv``, ``det`` and ``logdet`` are opaque in index notation and carry their
own derivatives; the rest are multilinear.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..index import nodes as I
from ..matrix import build as B
from ..shapes import ShapeMismatch, dim_product, is_square, matmul, show
from ..language import to_text
from ..registry import OPS, Op, register
from . import mp
from .shape import dim_subscript


def _label(node) -> str:
    return to_text(node)


def _index_inv(node, args, idx, pool):
    """inv has no index form: (A⁻¹)_ij is an opaque entry."""
    return I.Opaque(node, tuple(idx), _label(node))


def _index_det(node, args, idx, pool):
    return I.Opaque(node, (), _label(node))


def _index_deriv_inv(entry, d_arg, pool):
    """∂(A⁻¹)_ij = -Σ_a Σ_b (A⁻¹)_ia ∂A_ab (A⁻¹)_bj  (Matrix Cookbook eq. 59)."""
    i, j = entry.indices
    n = entry.expr.shape[0]
    a, b = pool.fresh(n), pool.fresh(n)
    inv = entry.expr
    return I.Sum(a, I.Sum(b, I.Mul((I.Num(-1), I.Opaque(inv, (i, a), entry.label), d_arg((a, b)),
                                    I.Opaque(inv, (b, j), entry.label)))))


def _index_deriv_det(entry, d_arg, pool):
    """∂ det A = det A Σ_a Σ_b (A⁻¹)_ba ∂A_ab  (Matrix Cookbook eq. 46)."""
    arg = entry.expr.args[0]
    n = arg.shape[0]
    a, b = pool.fresh(n), pool.fresh(n)
    inv = ir.apply("inv", [arg])
    return I.Sum(a, I.Sum(b, I.Mul((entry, I.Opaque(inv, (b, a), _label(inv)), d_arg((a, b))))))


def _index_logdet(node, args, idx, pool):
    """logdet A = log det A: NaN where det A < 0, as the log of any negative number
    (:func:`logdet`)."""
    det = ir.apply("det", [node.args[0]])
    return I.Func("log", I.Opaque(det, (), _label(det)))


def logdet(a):
    """log det a from numpy's slogdet, NaN where det a < 0: the sign slogdet returns
    is not dropped (log |det| of a matrix with a negative determinant would be a
    finite answer where there is none, as for log of a negative number)."""
    sign, logabsdet = np.linalg.slogdet(a)
    return logabsdet if sign >= 0 else np.float64(np.nan)


# Source of the helpers generated modules define (the same as the functions above).
HELPERS = {
    "_logdet": '''def _logdet(a):
    """log det a from slogdet; NaN where det a < 0, as log of a negative number."""
    sign, logabsdet = np.linalg.slogdet(a)
    return logabsdet if sign >= 0 else np.float64(np.nan)''',
}


def _index_diag(node, args, idx, pool):
    """diag(v)_ij = δ_ij v_j;  diag(A)_i = A_ii."""
    if node.args[0].rank == 1:
        return I.Mul((I.Delta(idx[0], idx[1]), args[0]((idx[1],))))
    return args[0]((idx[0], idx[0]))


def _index_outer(node, args, idx, pool):
    return I.Mul((args[0]((idx[0],)), args[1]((idx[1],))))


def _index_dot(node, args, idx, pool):
    return OPS["matmul"].index(node, args, idx, pool)


def _index_kron(node, args, idx, pool):
    return I.Opaque(node, tuple(idx), _label(node))


def _vjp_inv(g, node):
    """d(A^-1) = -A^-1 dA A^-1  so  A-bar = -A^-T G A^-T  (Matrix Cookbook eq. 59)."""
    return (B.neg(B.matmul(B.matmul(B.T(node), g), B.T(node))),)


def _vjp_det(g, node):
    """d det(A) = det(A) tr(A^-1 dA)  so  A-bar = g det(A) A^-T  (Cookbook eq. 49)."""
    a = node.args[0]
    return (B.mul(B.mul(g, node), B.T(B.call("inv", a))),)


def _vjp_logdet(g, node):
    """d logdet(A) = tr(A^-1 dA)  so  A-bar = g A^-T  (Cookbook eq. 57)."""
    return (B.mul(g, B.T(B.call("inv", node.args[0]))),)


def _vjp_outer(g, node):
    x, y = node.args
    return B.matmul(g, y), B.matmul(B.T(g), x)


def _kron_terms(g, a_shape, b_shape):
    """Write the adjoint as Σ c kron(P, Q) with P shaped like A, plus a rest.

    ones and eye split (ones(np, mq) = kron(ones(n, m), ones(p, q)),
    eye(np) = kron(eye(n), eye(p))); scalar multiples and sums are linear.
    Returns ``(terms, rest)``: the terms ``(c, P, Q)`` (``c`` None for 1) and the
    list of ``(c, R)`` parts with no such form."""
    if B.is_op(g, "kron") and g.args[0].shape == a_shape:
        return [(None, g.args[0], g.args[1])], []
    if B.is_ones(g):
        return [(None, B.ones(a_shape), B.ones(b_shape))], []
    if B.is_eye(g) and is_square(a_shape) and is_square(b_shape):
        return [(None, B.eye(a_shape[0]), B.eye(b_shape[0]))], []
    scaled = None
    if B.is_op(g, "mul") and g.args[0].rank == 0:
        scaled = (g.args[0], g.args[1])
    elif B.is_op(g, "mul") and g.args[1].rank == 0:
        scaled = (g.args[1], g.args[0])
    elif B.is_op(g, "div") and g.args[1].rank == 0:
        scaled = (B.div(B.ONE, g.args[1]), g.args[0])
    elif B.is_op(g, "neg"):
        scaled = (B.num(-1), g.args[0])
    if scaled is not None:
        scalar, inner = scaled
        terms, rest = _kron_terms(inner, a_shape, b_shape)
        times = lambda c: scalar if c is None else B.mul(scalar, c)  # noqa: E731
        return [(times(c), p, q) for c, p, q in terms], [(times(c), r) for c, r in rest]
    if B.is_op(g, "add", "sub") and g.args[0].shape == g.args[1].shape == g.shape:
        terms, rest = _kron_terms(g.args[0], a_shape, b_shape)
        more, more_rest = _kron_terms(g.args[1], a_shape, b_shape)
        if g.op == "sub":
            minus = lambda c: B.num(-1) if c is None else B.neg(c)  # noqa: E731
            more = [(minus(c), p, q) for c, p, q in more]
            more_rest = [(minus(c), r) for c, r in more_rest]
        return terms + more, rest + more_rest
    return [], [(None, g)]


def _block_sums(r, a, b):
    """The adjoints of kron(A, B) for an adjoint R with no Kronecker form: each
    (i, j) block of R ∘ (1 ⊗ B) summed for A, the blocks of R ∘ (A ⊗ 1) added up for B::

        Ā_ij = Σ_kl R_(ip+k)(jq+l) B_kl = [(I_m ⊗ 1ᵀ_p) (R ∘ (1_mn ⊗ B)) (I_n ⊗ 1_q)]_ij
        B̄_kl = Σ_ij R_(ip+k)(jq+l) A_ij = [(1ᵀ_m ⊗ I_p) (R ∘ (A ⊗ 1_pq)) (1_n ⊗ I_q)]_kl

    (vectors x [m], y [p]: x̄ = (I_m ⊗ 1ᵀ_p) (r ∘ (1_m ⊗ y)), ȳ = (1ᵀ_m ⊗ I_p) (r ∘ (x ⊗ 1_p));
    a vector beside a matrix is its column, and its adjoint the column's rows summed:
    x̄ = (I_m ⊗ 1ᵀ_p) (R ∘ (1_m ⊗ B)) 1_q for kron(x, B))."""
    m, p = a.shape[0], b.shape[0]
    rows_a = B.call("kron", B.eye(m), B.ones((1, p)))
    rows_b = B.call("kron", B.ones((1, m)), B.eye(p))
    da = B.matmul(rows_a, B.mul(r, B.call("kron", B.ones(a.shape), b)))
    db = B.matmul(rows_b, B.mul(r, B.call("kron", a, B.ones(b.shape))))
    if a.rank == 2 and b.rank == 2:
        n, q = a.shape[1], b.shape[1]
        da = B.matmul(da, B.call("kron", B.eye(n), B.ones((q, 1))))
        db = B.matmul(db, B.call("kron", B.ones((n, 1)), B.eye(q)))
    elif a.rank == 1 and b.rank == 2:        # kron(x, B) = kron(x 1ᵀ, B) column by column
        da = B.matmul(da, B.ones((b.shape[1],)))
    elif a.rank == 2 and b.rank == 1:        # kron(A, y): each column of A against y
        db = B.matmul(db, B.ones((a.shape[1],)))
    return da, db


def _vjp_kron(g, node):
    """G : d(A ⊗ B) for G = P ⊗ Q is (P sum(Q ∘ B)) : dA + (sum(P ∘ A) Q) : dB;
    the parts of G with no Kronecker form give block sums (:func:`_block_sums`)."""
    a, b = node.args
    terms, rest = _kron_terms(g, a.shape, b.shape)
    da = db = None
    for c, p, q in terms:
        ta = B.mul(p, B.sum_(B.mul(q, b)))
        tb = B.mul(B.sum_(B.mul(p, a)), q)
        if c is not None:
            ta, tb = B.mul(c, ta), B.mul(c, tb)
        da, db = B.add(da, ta), B.add(db, tb)
    if len(rest) == 1 and rest[0][0] is not None:     # -2 M: the scalar outside the block sums
        scalar, residual = rest[0]
    else:
        scalar, residual = None, None
        for c, r in rest:
            residual = B.add(residual, r if c is None else B.mul(c, r))
    if residual is not None:
        ra, rb = _block_sums(residual, a, b)
        if scalar is not None:
            ra, rb = B.mul(scalar, ra), B.mul(scalar, rb)
        da, db = B.add(da, ra), B.add(db, rb)
    return da, db


def _square(name):
    def rule(shapes, attrs):
        s = shapes[0]
        if not is_square(s):
            what = "a scalar" if not s else show(s)
            hint = None
            if len(s) == 2:
                hint = f"{name}(A.T @ A) or {name}(A @ A.T) is square"
            raise ShapeMismatch(f"{name} needs a square matrix, not {what}", hint)
        return () if name in ("det", "logdet") else s
    return rule


def _diag(shapes, attrs):
    s = shapes[0]
    if len(s) == 1:
        return (s[0], s[0])
    if len(s) == 2:
        if s[0] != s[1]:
            raise ShapeMismatch(f"diag of a matrix needs a square matrix, not {show(s)}")
        return (s[0],)
    raise ShapeMismatch("diag needs a vector (to make a diagonal matrix) or a square matrix "
                        "(to take its diagonal), not a scalar")


def _outer(shapes, attrs):
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        raise ShapeMismatch(f"outer needs two vectors, not {show(a)} and {show(b)}",
                            "use @ for matrix products")
    return (a[0], b[0])


def _kron(shapes, attrs):
    """[p, q] ⊗ [r, s] is [p*r, q*s]; a vector beside a matrix is its column
    ([n] ⊗ [r, s] is [n*r, s]); two vectors give a vector ([n] ⊗ [r] is [n*r])."""
    a, b = shapes
    if not a or not b:
        raise ShapeMismatch(f"kron needs two vectors or matrices, not {show(a)} and {show(b)}",
                            "write c * A for a number times a matrix")
    if len(a) != len(b):
        a, b = _column(a), _column(b)
    return tuple(dim_product(x, y) for x, y in zip(a, b))


def _column(shape):
    """A vector's shape as the column it stands for in kron: [n] -> [n, 1]."""
    return (shape[0], 1) if len(shape) == 1 else tuple(shape)


def kron(a, b):
    """numpy's kron, a vector beside a matrix taken as a column (numpy would take
    it as a row): kron(x, B) = kron(x[:, None], B)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != b.ndim:
        a, b = (a.reshape(-1, 1) if a.ndim == 1 else a), (b.reshape(-1, 1) if b.ndim == 1 else b)
    return np.kron(a, b)


def _size_note(x, target: str) -> str:
    """The subscript that gives an identity or all-ones factor of a Kronecker product its
    size (its size is not the other factor's): ``I_n``, ``1_r`` (a column or a vector),
    ``1_rᵀ`` (a row ones(1, r)), ``1_{p×q}``."""
    if B.is_eye(x):
        return dim_subscript(x.shape[:1], target)
    if not B.is_ones(x):
        return ""
    shape = x.shape
    if len(shape) == 1 or shape[1] == 1:
        return dim_subscript(shape[:1], target)
    if shape[0] == 1:
        return dim_subscript(shape[1:], target) + ("^T" if target == "latex" else "ᵀ")
    if target == "latex":
        return dim_subscript(shape[:1], target)[:-1] + " \\times " + dim_subscript(shape[1:], target)[2:]
    return f"_{shape[0]}×{shape[1]}"


def _kron_fields(node, target):
    """In print, an identity or all-ones factor with its size (:func:`_size_note`); in code a
    vector beside a matrix is made its column by the emission rule kron-vector-as-column."""
    return {f"i{k}": _size_note(x, target) if target in ("latex", "unicode") else ""
            for k, x in enumerate(node.args)}


register(Op("inv", "call", 1, _square("inv"), array_api="_inv(xp, {0})", numpy="np.linalg.inv({0})", latex="{0:atom}^{{-1}}",
            unicode="{0:atom}⁻¹", binds="pow",
            domain=("invertible",), doc="matrix inverse", vjp=_vjp_inv,
            fn=np.linalg.inv, mp=mp.inv, index=_index_inv, index_deriv=_index_deriv_inv))
register(Op("det", "call", 1, _square("det"), array_api="_det(xp, {0})", numpy="np.linalg.det({0})", latex="\\det({0})",
            domain=("invertible",), doc="determinant", vjp=_vjp_det,
            fn=np.linalg.det, mp=mp.det, index=_index_det, index_deriv=_index_deriv_det))
register(Op("logdet", "call", 1, _square("logdet"), array_api="_logdet(xp, {0})", numpy="_logdet({0})",
            latex="\\log\\det({0})", unicode="log det({0})", domain=("spd",), doc="log det A (NaN where det A < 0, like log)",
            vjp=_vjp_logdet, fn=logdet, mp=mp.logdet, index=_index_logdet, helpers={"_logdet": HELPERS["_logdet"]}))
register(Op("diag", "call", 1, _diag, array_api="_diag(xp, {0})", numpy="np.diag({0})", latex="\\operatorname{{diag}}({0})",
            doc="vector to diagonal matrix, or diagonal of a square matrix",
            vjp=lambda g, node: (B.call("diag", g),), fn=np.diag, keeps_nonnegative=True, index=_index_diag))
register(Op("outer", "call", 2, _outer, array_api="_outer(xp, {0}, {1})", numpy="np.outer({0}, {1})", latex="{0:atom} {1:T}", unicode="{0:atom}{1:atom}ᵀ", binds="mul",
            doc="outer product of two vectors", vjp=_vjp_outer,
            fn=np.outer, index=_index_outer))
register(Op("dot", "call", 2, lambda s, a: matmul(s[0], s[1]), array_api="xp.matmul({0}, {1})", numpy="np.dot({0}, {1})",
            latex="{0}^T {1}", doc="inner product (numpy's dot)",
            vjp=lambda g, node: OPS["matmul"].vjp(g, node), fn=np.dot, index=_index_dot))
register(Op("kron", "call", 2, _kron, array_api="_kron(xp, {0}, {1})", numpy="np.kron({0}, {1})",
            fields=_kron_fields, latex="{0:mul}{i0} \\otimes {1:mul}{i1}", unicode="{0:mul}{i0} ⊗ {1:mul}{i1}",
            binds="hadamard",
            doc="Kronecker product (a vector beside a matrix is a column)", vjp=_vjp_kron,
            fn=kron, index=_index_kron))
