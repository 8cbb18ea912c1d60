"""Reductions that keep their axis (``keepdims=True``): a product with a column or a
row of ones is a sum along an axis, kept with size 1, as numpy code writes it."""

from __future__ import annotations

from .. import build as B
from .common import rule


@rule("ones-product-is-kept-sum", "A 1 = sum(A, axis=1, keepdims=True); 1ᵀ A = sum(A, axis=0, keepdims=True)",
      ["matmul"])
def ones_product_is_kept_sum(e, ctx):
    """``(A ∘ X) @ ones(m, 1) → sum(A * X, axis=1, keepdims=True)`` (the row sums, a
    column ``[n, 1]``); ``ones(1, n) @ M → sum(M, axis=0, keepdims=True)``."""
    a, b = e.args
    if e.rank != 2 or a.rank != 2 or b.rank != 2:
        return None
    if B.is_ones(b) and b.shape[1] == 1 and not B.is_ones(a):
        return B.sum_(a, 1, keepdims=True)
    if B.is_ones(a) and a.shape[0] == 1 and not B.is_ones(b):
        return B.sum_(b, 0, keepdims=True)
    return None


RULES = (ones_product_is_kept_sum,)
