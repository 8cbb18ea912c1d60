"""Code rewrite for a product of transposes: ``Bᵀ Aᵀ = (A B)ᵀ``.

The same product reaches the emitted code spelled two ways, ``K = X @ Wk`` in one place
and ``Wk.T @ X.T`` in another (a gradient's adjoint is transposed as a whole); common
subexpressions are found by structure, so the two were computed twice (the attention
head's softmax was, twice over).  Written as the transpose of the product, which numpy
returns as a view at no cost, the product is one node and is computed once.  A code
rewrite (:mod:`matcalc.codegen.algebra`), applied before common subexpressions are found.

=====================  ===================  =====================
rule                   identity             numpy
=====================  ===================  =====================
product-of-transposes  Bᵀ Aᵀ = (A B)ᵀ       (A @ B).T, a view
=====================  ===================  =====================
"""

from __future__ import annotations

from ..matrix import build as B
from ..registry import Rewrite, code_rewrite


def _product_of_transposes(node):
    """``B.T @ A.T`` → ``(A @ B).T`` for matrices ``A`` and ``B``."""
    left, right = node.args
    if left.rank != 2 or right.rank != 2 or not (B.is_op(left, "transpose") and B.is_op(right, "transpose")):
        return None
    return B.T(B.matmul(right.args[0], left.args[0]))


code_rewrite(Rewrite("product-of-transposes", "Bᵀ Aᵀ = (A B)ᵀ: one product, shared with A B written elsewhere",
                     "matmul", _product_of_transposes))
