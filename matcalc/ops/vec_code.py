"""Emission rules for vec and the commutation matrix (see the table in
:mod:`.kron_code`): a product with ``commutation(m, n)`` is a reshape and a
transpose, never a product with the matrix, and ``vec(Yᵀ)`` is ``Y`` read row by
row.  In the vec convention ``vec(A)`` stacks the columns of ``A`` and
``commutation(m, n) @ vec(A) = vec(A.T)`` for ``A [m, n]``.  Registered before the
Kronecker rules: ``kron(eye(a), M) @ commutation(m, n)`` is a column permutation of
the block-diagonal matrix, not a product with a dense commutation matrix.
"""

from __future__ import annotations

from .. import ir
from ..matrix import build as B
from ..registry import PREC_POSTFIX, EmitRule, emit_rule
from .code_spelling import operand, permute, reshape, transposed


def _commutation_sizes(e: ir.Expr):
    if not B.is_op(e, "commutation"):
        return None
    dims = e.attr("dims")
    return dims[0], dims[-1]


def _vec_of_transpose(node, pr):
    """vec(Yᵀ) stacks the columns of Yᵀ, the rows of Y: Y read row by row."""
    y = node.args[0]
    if not B.is_op(y, "transpose"):
        return None
    return reshape(pr, operand(pr, y.args[0]), ["-1"]), PREC_POSTFIX


def _commutation_inverse(node, pr):
    """commutation(n, m) @ commutation(m, n) = eye(m*n) (K_nm = K_mnᵀ = K_mn⁻¹)."""
    left, right = (_commutation_sizes(a) for a in node.args)
    if left is None or right is None or left != tuple(reversed(right)):
        return None
    return B.eye(node.shape[0])


def _commutation_rows(node, pr):
    """commutation(m, n) @ V: row j m + i of V goes to row i n + j, so V read as
    [n, m, s] is transposed to [m, n, s] (for a vector: v as [n, m], transposed)."""
    sizes, v = _commutation_sizes(node.args[0]), node.args[1]
    if sizes is None:
        return None
    m, n = (pr.dim(d) for d in sizes)
    if v.rank == 1:
        return reshape(pr, transposed(pr, reshape(pr, operand(pr, v), [n, m])), ["-1"]), PREC_POSTFIX
    moved = permute(pr, reshape(pr, operand(pr, v), [n, m, "-1"]), (1, 0, 2))
    return reshape(pr, moved, ["-1", pr.dim(v.shape[1])]), PREC_POSTFIX


def _commutation_columns(node, pr):
    """P @ commutation(m, n): column i n + j of P goes to column j m + i, so each row
    of P read as [m, n] is transposed (for a vector: p as [m, n], transposed)."""
    p, sizes = node.args[0], _commutation_sizes(node.args[1])
    if sizes is None:
        return None
    m, n = (pr.dim(d) for d in sizes)
    if p.rank == 1:
        return reshape(pr, transposed(pr, reshape(pr, operand(pr, p), [m, n])), ["-1"]), PREC_POSTFIX
    moved = permute(pr, reshape(pr, operand(pr, p), ["-1", m, n]), (0, 2, 1))
    return reshape(pr, moved, [pr.dim(p.shape[0]), "-1"]), PREC_POSTFIX


emit_rule(EmitRule("vec-of-transpose", "vec(Yᵀ) = Y read row by row", "vec", _vec_of_transpose))
emit_rule(EmitRule("commutation-inverse", "commutation(n, m) @ commutation(m, n) = eye(m*n)", "matmul",
                   _commutation_inverse))
emit_rule(EmitRule("commutation-rows", "commutation(m, n) vec(A) = vec(A.T)", "matmul", _commutation_rows))
emit_rule(EmitRule("commutation-columns", "vec(A)ᵀ commutation(m, n) = vec(A.T)ᵀ for A [n, m]", "matmul", _commutation_columns))
