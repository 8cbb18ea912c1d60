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


def is_operator(e: ir.Expr) -> bool:
    """A matrix the emitted code applies without building it when it is a factor of a
    product: a Kronecker product, a commutation matrix, or the transpose of one."""
    if B.is_op(e, "transpose"):
        e = e.args[0]
    return B.is_op(e, "kron", "commutation")


def _transposed_operator(e: ir.Expr) -> ir.Expr | None:
    """kron(A, B)ᵀ = kron(Aᵀ, Bᵀ), commutation(m, n)ᵀ = commutation(n, m); None for others."""
    if not B.is_op(e, "transpose"):
        return None
    inner = e.args[0]
    if B.is_op(inner, "kron") and all(a.rank == 2 for a in inner.args):
        return B.call("kron", *(B.T(a) for a in inner.args))
    if B.is_op(inner, "commutation"):
        dims = inner.attr("dims")
        return ir.apply("commutation", (), {"dims": (dims[-1], dims[0])})
    return None


def _transpose_into_operator(node, pr):
    """A product with kron(A, B)ᵀ or commutation(m, n)ᵀ is a product with kron(Aᵀ, Bᵀ) or
    commutation(n, m), which the rules below apply without building it."""
    moved = [_transposed_operator(a) for a in node.args]
    if moved == [None, None]:
        return None
    return ir.apply("matmul", [m if m is not None else a for m, a in zip(moved, node.args)])


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
    if B.is_op(v, "vec") and v.args[0].rank == 2 and tuple(v.args[0].shape) == sizes:
        return B.call("vec", B.T(v.args[0]))          # K_mn vec(A) = vec(Aᵀ) itself
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
    if B.is_op(p, "vec") and p.args[0].rank == 2 and tuple(p.args[0].shape) == sizes[::-1]:
        return B.call("vec", B.T(p.args[0]))          # vec(A)ᵀ K_mn = vec(Aᵀ)ᵀ for A [n, m]
    m, n = (pr.dim(d) for d in sizes)
    if p.rank == 1:
        return reshape(pr, transposed(pr, reshape(pr, operand(pr, p), [m, n])), ["-1"]), PREC_POSTFIX
    moved = permute(pr, reshape(pr, operand(pr, p), ["-1", m, n]), (0, 2, 1))
    return reshape(pr, moved, [pr.dim(p.shape[0]), "-1"]), PREC_POSTFIX


emit_rule(EmitRule("transpose-into-operator", "kron(A, B)ᵀ = kron(Aᵀ, Bᵀ), commutation(m, n)ᵀ = commutation(n, m)",
                   "matmul", _transpose_into_operator))
emit_rule(EmitRule("vec-of-transpose", "vec(Yᵀ) = Y read row by row", "vec", _vec_of_transpose))
emit_rule(EmitRule("commutation-inverse", "commutation(n, m) @ commutation(m, n) = eye(m*n)", "matmul",
                   _commutation_inverse))
emit_rule(EmitRule("commutation-rows", "commutation(m, n) vec(A) = vec(A.T)", "matmul", _commutation_rows))
emit_rule(EmitRule("commutation-columns", "vec(A)ᵀ commutation(m, n) = vec(A.T)ᵀ for A [n, m]", "matmul", _commutation_columns))
