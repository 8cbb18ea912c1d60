"""Code rewrites for Gram and trace algebra: a quadratic form in a matrix is computed
through its Gram matrix, which the gradient needs anyway.

``Σ_ij (A B)_ij A_ij = Σ_kj B_kj (Aᵀ A)_kj``: ``sum((X @ P) * X)`` (``X`` ``[n, d]``) costs
``n d²`` as written and ``n d² / 2`` as ``sum(P * (X.T @ X))``, numpy computing ``X.T @ X``
with a symmetric rank-k product (syrk); and the gradient w.r.t. ``P`` is ``Xᵀ X`` itself,
so in ``value_and_grad`` the value costs ``d²`` more (issue 16: the Gaussian NLL in the
precision).  The trace of ``Y M Yᵀ`` is the same sum by the cyclic property, so
``trace(X @ P @ X.T)`` never builds the ``[n, n]`` product.  These are code rewrites
(:mod:`matcalc.codegen.algebra`), applied before common subexpressions are found.

===================  ==================================  ================================
rule                 identity                            numpy
===================  ==================================  ================================
gram-of-quadratic    sum((A B) ∘ A) = sum(B ∘ AᵀA)       np.sum(B * (A.T @ A))
trace-of-gram        tr(Y M Yᵀ) = sum(M ∘ YᵀY)           np.sum(M * (Y.T @ Y))
===================  ==================================  ================================
"""

from __future__ import annotations

import functools

from ..matrix import build as B
from ..registry import Rewrite, code_rewrite


def _split(product, a):
    """``F`` when ``product`` is ``a @ F`` (``F`` a product of matrices), else None."""
    factors = B.matrix_factors(product) if B.is_op(product, "matmul") else []
    if len(factors) < 2 or factors[0] != a:
        return None
    return functools.reduce(B.matmul, factors[1:])


def _split_right(product, a):
    """``F`` when ``product`` is ``F @ a``, else None."""
    factors = B.matrix_factors(product) if B.is_op(product, "matmul") else []
    if len(factors) < 2 or factors[-1] != a:
        return None
    return functools.reduce(B.matmul, factors[:-1])


def _gram_of_quadratic(node):
    """``sum((A @ F) * A)`` → ``sum(F * (A.T @ A))`` and ``sum((F @ A) * A)`` →
    ``sum(F * (A @ A.T))`` (either order of the ``*``), for a matrix ``A``."""
    if node.attr("axis") is not None or node.attr("keepdims") or not B.is_op(node.args[0], "mul"):
        return None
    p, q = node.args[0].args
    for product, a in ((p, q), (q, p)):
        if a.rank != 2 or product.shape != a.shape:
            continue
        f = _split(product, a)
        if f is not None:
            return B.sum_(B.mul(f, B.matmul(B.T(a), a)))
        f = _split_right(product, a)
        if f is not None:
            return B.sum_(B.mul(f, B.matmul(a, B.T(a))))
    return None


def _factors(product):
    """The factors of a chain, a transposed product among them opened: ``X @ M @ (X @ M).T``
    → ``[X, M, M.T, X.T]`` (product-of-transposes writes ``M.T @ X.T`` that way)."""
    out = []
    for f in B.matrix_factors(product):
        if B.is_op(f, "transpose") and B.is_op(f.args[0], "matmul"):
            out += [B.T(g) for g in reversed(B.matrix_factors(f.args[0]))]
        else:
            out.append(f)
    return out


def _trace_of_gram(node):
    """``trace(Y @ M @ Y.T)`` → ``sum(M * (Y.T @ Y))`` (``M`` a product of matrices)."""
    factors = _factors(node.args[0])
    if len(factors) < 3 or factors[-1] != B.T(factors[0]):
        return None
    y = factors[0]
    middle = functools.reduce(B.matmul, factors[1:-1])
    return B.sum_(B.mul(middle, B.matmul(B.T(y), y)))


code_rewrite(Rewrite("gram-of-quadratic", "sum((A B) ∘ A) = sum(B ∘ AᵀA): the Gram AᵀA (syrk), shared",
                     "sum", _gram_of_quadratic))
code_rewrite(Rewrite("trace-of-gram", "tr(Y M Yᵀ) = sum(M ∘ YᵀY): the Gram YᵀY, never Y M Yᵀ",
                     "trace", _trace_of_gram))
