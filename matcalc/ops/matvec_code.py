"""Code rewrite for a sum of matrices times a vector: the sum is never built.

``(A + Aᵀ) x`` as written builds an ``[n, n]`` matrix (and reads A transposed) to multiply
one vector; ``A x + xᵀ A`` is two matrix-vector products (issue 16: 9.4x ``jax.jit`` on
``x @ A @ x + sum(exp(x))``).  The terms are distributed over the vector, a transposed
term written with the vector on the left (``A.T @ x`` is ``x @ A``, read row by row).
A code rewrite (:mod:`matcalc.codegen.algebra`): applied before common subexpressions
are found, so ``x @ A`` is computed once for the value ``x @ A @ x`` and its gradient.

===================  ==============================  ==========================
rule                 identity                        numpy
===================  ==============================  ==========================
matvec-of-sum        (A ± B) x = A x ± B x            A @ x + x @ B for B = Bᵀᵀ
===================  ==============================  ==========================
"""

from __future__ import annotations

from ..matrix import build as B
from ..registry import Rewrite, code_rewrite


def _times(M, v, left: bool):
    """``M v`` (``v M`` when ``left``), a transposed ``M`` turned round: ``Aᵀ v`` is ``v A``."""
    if B.is_op(M, "transpose"):
        return B.matmul(M.args[0], v) if left else B.matmul(v, M.args[0])
    return B.matmul(v, M) if left else B.matmul(M, v)


def _matvec_of_sum(node):
    """``(A + B) @ x`` → ``A @ x + B @ x`` (and ``x @ (A + B)``), for a vector ``x``."""
    a, b = node.args
    left = a.rank == 1
    M, v = (b, a) if left else (a, b)
    if v.rank != 1 or M.rank != 2 or not B.is_op(M, "add", "sub"):
        return None
    if any(t.shape != M.shape for t in M.args):      # a broadcast term ([1, m] + [n, m]) stays as written
        return None
    p, q = (_times(t, v, left) for t in M.args)
    return B.add(p, q) if M.op == "add" else B.sub(p, q)


code_rewrite(Rewrite("matvec-of-sum", "(A ± B) x = A x ± B x: the sum of matrices is never built", "matmul",
                     _matvec_of_sum))
