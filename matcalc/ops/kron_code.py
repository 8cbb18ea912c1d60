"""Emission rules for Kronecker and vec forms: emitted code computes them without
building what it does not need (named :class:`~matcalc.registry.EmitRule` records; the
code generator's :class:`~matcalc.codegen.emit.Emitter` tries them on every node).

The vec convention of Magnus and Neudecker: ``vec`` stacks columns (``vec(A)`` is
numpy's ``A.T.reshape(-1)``), ``commutation(m, n) @ vec(A) = vec(A.T)`` for ``A [m, n]``,
and entry ``(i p + k, j q + l)`` of ``kron(A, B)`` (``B [p, q]``) is ``A_ij B_kl``.
Below ``M [p, q]``, ``V [., s]`` and ``P [r, .]``; ``np.kron`` is left for the
Kronecker product of two general matrices.

======================  =========================================  ==============================================
rule                    identity                                   numpy
======================  =========================================  ==============================================
kron-vector-as-column   kron(x, M), x [n]: x is the column [n, 1]   np.kron(x.reshape(n, 1), M)
kron-of-eyes            kron(eye(a), eye(b)) = eye(a*b)            np.eye(a * b)
scalar-into-kron        c kron(A, B) = kron(A, c B)                the factor scaled, not the product
kron-mixed-product      kron(A, B) @ kron(C, D) = kron(AC, BD)     two small products, one Kronecker product
block-diagonal          kron(eye(a), M)                            _eye_kron(a, M): M written a times
interleaved             kron(M, eye(a))                            _kron_eye(M, a): M_ij written a times
scaled-blocks           diag(v) @ kron(eye(a), M) (and M's right)  _eye_kron(a, v.reshape(a, p, 1) * M)
block-diagonal-product  kron(eye(a), M) @ V,  P @ kron(eye(a), M)  (M @ V.reshape(a, q, -1)).reshape(-1, s)
interleaved-product     kron(M, eye(a)) @ V,  P @ kron(M, eye(a))  (M @ V.reshape(q, -1)).reshape(-1, s)
vec-of-transpose        vec(Y.T)                                   Y.reshape(-1): Y read row by row
commutation-inverse     commutation(n, m) @ commutation(m, n) = I  np.eye(m * n)
commutation-rows        commutation(m, n) @ V                      V.reshape(n, m, -1).transpose(1, 0, 2)...
commutation-columns     P @ commutation(m, n)                      P.reshape(-1, m, n).transpose(0, 2, 1)...
kron-product            kron(A, B) @ V,  P @ kron(A, B)            (B @ (A @ V.reshape(q, -1)).reshape(p, s, -1))...
kron-sum-in-place       kron(eye(a), A) + kron(eye(a), B) + cI + D  one array: blocks, diagonal, D added in place
======================  =========================================  ==============================================

``vec-of-transpose`` and the commutation rules are in :mod:`.vec_code` (registered
first), ``kron-sum-in-place`` in :mod:`.kron_sum`, the spellings per target in
:mod:`.code_spelling`.  The array-API target prints the same reshapes and transposes (``_reshape(xp, ...)``,
which first gathers a Dask array into one chunk, and ``xp.permute_dims``; arrays there
may be immutable, so nothing is written in place:
``kron(eye(a), M)`` stays a Kronecker product, merged sums included).
"""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..registry import PREC_ATOM, PREC_MUL, PREC_POSTFIX, EmitRule, emit_rule
from ..shapes import dim_product
from .code_spelling import numpy_target as _numpy
from .code_spelling import operand as _operand
from .code_spelling import product as _product
from .code_spelling import reshape as _reshape

EYE_KRON = "_eye_kron"
KRON_EYE = "_kron_eye"
ADD_DIAGONAL = "_add_diagonal"
HELPERS = {
    EYE_KRON: '''def _eye_kron(a, blocks, out=None):
    """kron(eye(a), M) for blocks = M [p, q], or the block-diagonal matrix of
    blocks [a, p, q]: the blocks written on the diagonal (added into out, an
    array this module made), nothing multiplied."""
    p, q = blocks.shape[-2:]
    if out is None:
        out = np.zeros((a * p, a * q), dtype=np.result_type(blocks, 0.0))
    r = np.arange(a)
    out.reshape(a, p, a, q)[r, :, r, :] += blocks
    return out''',
    KRON_EYE: '''def _kron_eye(m, a, out=None):
    """kron(M, eye(a)): entry (i a + k, j a + k) is M_ij, every other entry 0 (added
    into out, an array this module made), nothing multiplied."""
    p, q = m.shape
    if out is None:
        out = np.zeros((p * a, q * a), dtype=np.result_type(m, 0.0))
    r = np.arange(a)
    out.reshape(p, a, q, a)[:, r, :, r] += m
    return out''',
    ADD_DIAGONAL: '''def _add_diagonal(out, d):
    """out + diag(d) for a number or a vector d, in place: only the diagonal is touched."""
    r = np.arange(out.shape[0])
    out[r, r] += d
    return out''',
}
# Past this many terms a sum is left to plain addition (each term is looked at once).
MOST_TERMS = 64


# -- what the rules look for ----------------------------------------------------------

def eye_left(e: ir.Expr):
    """``(a, M)`` when ``e`` is ``kron(eye(a), M)`` with ``M`` a matrix, else None."""
    if B.is_op(e, "kron") and B.is_eye(e.args[0]) and e.args[1].rank == 2:
        return e.args[0].attr("dims")[0], e.args[1]
    return None


def eye_right(e: ir.Expr):
    """``(M, a)`` when ``e`` is ``kron(M, eye(a))`` with ``M`` a matrix, else None."""
    if B.is_op(e, "kron") and B.is_eye(e.args[1]) and e.args[0].rank == 2:
        return e.args[0], e.args[1].attr("dims")[0]
    return None


def _diag_vector(e: ir.Expr):
    return e.args[0] if B.is_op(e, "diag") and e.args[0].rank == 1 else None


def _fresh(e: ir.Expr, pr) -> bool:
    """Not computed elsewhere in the function: no named or shared value is rebuilt."""
    return e not in pr.names and e not in pr.shared


# -- the rules ------------------------------------------------------------------------

def _vector_as_column(node, pr):
    """In ``kron`` a ``[n]`` vector beside a matrix is the column ``[n, 1]``
    (``kron(x, eye(k))`` is ``[n*k, k]``); numpy's ``kron`` would read it as a row."""
    ranks = [a.rank for a in node.args]
    if sorted(ranks) != [1, 2]:
        return None
    column = [ir.apply("reshape", [a], {"shape": (a.shape[0], 1)}) if a.rank == 1 else a for a in node.args]
    return B.call("kron", *column)


def _kron_of_eyes(node, pr):
    if B.is_eye(node.args[0]) and B.is_eye(node.args[1]):
        return B.eye(dim_product(node.args[0].attr("dims")[0], node.args[1].attr("dims")[0]))
    return None


def _scalar_into_kron(node, pr):
    """c kron(A, B) = kron(A, c B), -kron(A, B) = kron(A, -B): the scalar meets the
    factor (not eye), not the product."""
    if node.op == "neg":
        c, k = None, node.args[0]
    else:
        scalars = [a for a in node.args if a.rank == 0]
        if len(scalars) != 1 or node.op != "mul":
            return None
        c, k = scalars[0], next(a for a in node.args if a.rank != 0)
    if not B.is_op(k, "kron") or not _fresh(k, pr):
        return None
    a, b = k.args
    if B.is_eye(a) and B.is_eye(b):
        return None

    def scaled(x):
        return B.neg(x) if c is None else B.mul(c, x)
    return B.call("kron", a, scaled(b)) if not B.is_eye(b) else B.call("kron", scaled(a), b)


def _mixed_product(node, pr):
    """kron(A, B) @ kron(C, D) = kron(A @ C, B @ D) where the products are defined."""
    left, right = node.args
    if not (B.is_op(left, "kron") and B.is_op(right, "kron")
            and all(a.rank == 2 for a in left.args + right.args)):
        return None
    (a, b), (c, d) = left.args, right.args
    if a.shape[1] != c.shape[0] or b.shape[1] != d.shape[0]:
        return None
    return B.call("kron", B.matmul(a, c), B.matmul(b, d))


def _block_diagonal(node, pr):
    found = eye_left(node)
    if found is None or not _numpy(pr):
        return None
    a, m = found
    return f"{pr.helper(EYE_KRON)}({pr.dim(a)}, {pr.text(m)})", PREC_ATOM


def _interleaved(node, pr):
    found = eye_right(node)
    if found is None or not _numpy(pr):
        return None
    m, a = found
    return f"{pr.helper(KRON_EYE)}({pr.text(m)}, {pr.dim(a)})", PREC_ATOM


def _blocks_of(pr, v: ir.Expr, a, p, axis: int) -> str:
    """The vector ``v [a*p]`` as ``a`` blocks of ``p``, shaped to scale each block's rows
    (``axis`` 1: ``[a, p, 1]``) or columns (``axis`` 2: ``[a, 1, p]``); ``vec(W)`` of a
    ``W [p, a]`` is read as ``W.T`` itself."""
    index = "[:, :, None]" if axis == 1 else "[:, None, :]"
    if B.is_op(v, "vec") and v.args[0].rank == 2 and tuple(v.args[0].shape) == (p, a):
        return pr.wrap(B.T(v.args[0]), PREC_POSTFIX) + index
    dims = [pr.dim(a), pr.dim(p), "1"] if axis == 1 else [pr.dim(a), "1", pr.dim(p)]
    return _reshape(pr, _operand(pr, v), dims)


def _scaled_blocks(node, pr):
    """diag(v) @ kron(eye(a), M) is block diagonal with blocks diag(v_i) M: only those
    are computed (and kron(eye(a), M) @ diag(v) likewise, columns scaled)."""
    if not _numpy(pr):
        return None
    left, right = node.args
    v, found = _diag_vector(left), eye_left(right)
    if v is not None and found is not None:
        a, m = found
        blocks = f"{_blocks_of(pr, v, a, m.shape[0], 1)} * {pr.wrap(m, PREC_MUL, True)}"
    else:
        v, found = _diag_vector(right), eye_left(left)
        if v is None or found is None:
            return None
        a, m = found
        blocks = f"{pr.wrap(m, PREC_MUL)} * {_blocks_of(pr, v, a, m.shape[1], 2)}"
    return f"{pr.helper(EYE_KRON)}({pr.dim(a)}, {blocks})", PREC_ATOM


def _block_product(node, pr):
    """kron(eye(a), M) @ V = the blocks of V (a of q rows) each times M;
    P @ kron(eye(a), M) = the blocks of P's rows (a of p columns) each times M."""
    left, right = node.args
    found = eye_left(left)
    if found is not None and _diag_vector(right) is None:
        (a, m), v = found, right
        if v.rank == 1:      # (I ⊗ M) vec(V) = vec(M V): V's columns are v's blocks
            out = _product(pr, _reshape(pr, _operand(pr, v), [pr.dim(a), pr.dim(m.shape[1])]),
                           pr.wrap(B.T(m), PREC_MUL, True))
            return _reshape(pr, out, ["-1"]), PREC_POSTFIX
        out = _product(pr, pr.wrap(m, PREC_MUL), _reshape(pr, _operand(pr, v), [pr.dim(a), pr.dim(m.shape[1]), "-1"]))
        return _reshape(pr, out, ["-1", pr.dim(v.shape[1])]), PREC_POSTFIX
    found = eye_left(right)
    if found is None or _diag_vector(left) is not None:
        return None
    (a, m), p = found, left
    if p.rank == 1:
        out = _product(pr, _reshape(pr, _operand(pr, p), [pr.dim(a), pr.dim(m.shape[0])]), pr.wrap(m, PREC_MUL, True))
        return _reshape(pr, out, ["-1"]), PREC_POSTFIX
    out = _product(pr, _reshape(pr, _operand(pr, p), ["-1", pr.dim(m.shape[0])]), pr.wrap(m, PREC_MUL, True))
    return _reshape(pr, out, [pr.dim(p.shape[0]), "-1"]), PREC_POSTFIX


def _interleaved_product(node, pr):
    """kron(M, eye(a)) @ V = M @ V read as [q, a*s]; P @ kron(M, eye(a)) = Mᵀ times
    each row of P read as [p, a]."""
    left, right = node.args
    found = eye_right(left)
    if found is not None and _diag_vector(right) is None:
        (m, a), v = found, right
        rows = ([pr.dim(m.shape[1]), pr.dim(a)] if v.rank == 1 else [pr.dim(m.shape[1]), "-1"])
        out = _product(pr, pr.wrap(m, PREC_MUL), _reshape(pr, _operand(pr, v), rows))
        return _reshape(pr, out, ["-1"] if v.rank == 1 else ["-1", pr.dim(v.shape[1])]), PREC_POSTFIX
    found = eye_right(right)
    if found is None or _diag_vector(left) is not None:
        return None
    (m, a), p = found, left
    rows = [pr.dim(m.shape[0]), pr.dim(a)] if p.rank == 1 else ["-1", pr.dim(m.shape[0]), pr.dim(a)]
    out = _product(pr, pr.wrap(B.T(m), PREC_MUL), _reshape(pr, _operand(pr, p), rows))
    return _reshape(pr, out, ["-1"] if p.rank == 1 else [pr.dim(p.shape[0]), "-1"]), PREC_POSTFIX


def _kron_product(node, pr):
    """kron(A, B) @ V = vec-wise B (A V') for V' the rows of V read as [q, s, .]:
    (A ⊗ B) vec(Y) = vec(B Y Aᵀ); and P @ kron(A, B) = Aᵀ (P' B) for each row of P read
    as [p, r].  Two small products; the Kronecker product is never built."""
    left, right = node.args
    general = [a for a in node.args if B.is_op(a, "kron") and all(f.rank == 2 for f in a.args)]
    other = right if general and general[0] is left else left
    if not general or _diag_vector(other) is not None or B.is_op(other, "kron", "commutation"):
        return None
    if general[0] is left:           # A [p, q], B [r, s], V [q*s, .]
        (a, b), v = left.args, right
        if v.rank == 1:
            out = f"{pr.wrap(a, PREC_MUL)} @ {_reshape(pr, _operand(pr, v), [pr.dim(a.shape[1]), pr.dim(b.shape[1])])}"
            return _reshape(pr, _product(pr, out, pr.wrap(B.T(b), PREC_MUL, True)), ["-1"]), PREC_POSTFIX
        inner = _product(pr, pr.wrap(a, PREC_MUL), _reshape(pr, _operand(pr, v), [pr.dim(a.shape[1]), "-1"]))
        out = _product(pr, pr.wrap(b, PREC_MUL), _reshape(pr, inner, [pr.dim(a.shape[0]), pr.dim(b.shape[1]), "-1"]))
        return _reshape(pr, out, ["-1", pr.dim(v.shape[1])]), PREC_POSTFIX
    (a, b), p = right.args, left      # P [., p*r]
    if p.rank == 1:
        out = f"{pr.wrap(B.T(a), PREC_MUL)} @ {_reshape(pr, _operand(pr, p), [pr.dim(a.shape[0]), pr.dim(b.shape[0])])}"
        return _reshape(pr, _product(pr, out, pr.wrap(b, PREC_MUL, True)), ["-1"]), PREC_POSTFIX
    inner = _product(pr, _reshape(pr, _operand(pr, p), ["-1", pr.dim(a.shape[0]), pr.dim(b.shape[0])]),
                     pr.wrap(b, PREC_MUL, True))
    return _reshape(pr, _product(pr, pr.wrap(B.T(a), PREC_MUL), inner), [pr.dim(p.shape[0]), "-1"]), PREC_POSTFIX


emit_rule(EmitRule("kron-vector-as-column", "kron(x, M) = kron(reshape(x, (n, 1)), M) for x [n]", "kron",
                   _vector_as_column))
emit_rule(EmitRule("kron-of-eyes", "kron(eye(a), eye(b)) = eye(a*b)", "kron", _kron_of_eyes))
emit_rule(EmitRule("block-diagonal", "kron(eye(a), M): M on the diagonal a times", "kron", _block_diagonal,
                   {EYE_KRON: HELPERS[EYE_KRON]}))
emit_rule(EmitRule("interleaved", "kron(M, eye(a)): M_ij at (i a + k, j a + k)", "kron", _interleaved,
                   {KRON_EYE: HELPERS[KRON_EYE]}))
emit_rule(EmitRule("scalar-into-kron", "c kron(A, B) = kron(A, c B)", "mul", _scalar_into_kron))
emit_rule(EmitRule("scalar-into-kron", "-kron(A, B) = kron(A, -B)", "neg", _scalar_into_kron))
emit_rule(EmitRule("kron-mixed-product", "kron(A, B) @ kron(C, D) = kron(A @ C, B @ D)", "matmul", _mixed_product))
emit_rule(EmitRule("scaled-blocks", "diag(v) @ kron(eye(a), M) = blocks diag(v_i) M", "matmul", _scaled_blocks,
                   {EYE_KRON: HELPERS[EYE_KRON]}))
emit_rule(EmitRule("block-diagonal-product", "kron(eye(a), M) vec(V) = vec(M V)", "matmul", _block_product))
emit_rule(EmitRule("interleaved-product", "kron(M, eye(a)) vec(V) = vec(V Mᵀ)", "matmul", _interleaved_product))
emit_rule(EmitRule("kron-product", "kron(A, B) vec(Y) = vec(B Y Aᵀ)", "matmul", _kron_product))
