"""Emission rule for ``trace`` of a product: the product is never built.

``tr(A B) = Σ_ij A_ij B_ji = sum(A ∘ Bᵀ)``: the trace of a product of matrices is
computed by splitting the chain ``F1 F2 … Fk`` into ``L = F1 … Fs`` and ``R = Fs+1 … Fk``
and summing ``L ∘ Rᵀ``, so ``trace(X @ P @ X.T)`` (``X`` ``[n, d]``) costs an ``[n, d]``
array and ``n d²`` work instead of the ``[n, n]`` product (800 MB at n = 10,000).  The
split is at an inner dimension other than the trace's own where there is one (the
products stay ``[n, c]``), else in the middle.  A chain holding an inverse is left to the
``solve`` it is emitted as (more accurate than forming the inverse).

===================  =========================  ==================================
rule                 identity                   numpy
===================  =========================  ==================================
trace-of-product     tr(L R) = sum(L ∘ Rᵀ)      np.sum(L * R.T), L and R the halves
===================  =========================  ==================================
"""

from __future__ import annotations

import functools

from ..matrix import build as B
from ..registry import EmitRule, emit_rule


def _trace_of_product(node, printer):
    """``trace(F1 @ … @ Fk)`` → ``sum(L * R.T)`` (None for the trace of one matrix)."""
    factors = B.matrix_factors(node.args[0])
    if len(factors) < 2 or any(B.is_op(f, "inv") for f in factors):
        return None           # inv(A) @ B stays solve(A, B): more accurate than the inverse
    outer = node.args[0].shape[0]
    splits = list(range(1, len(factors)))
    inner = [s for s in splits if factors[s - 1].shape[1] != outer]
    s = (inner or splits)[len(inner or splits) // 2]
    left = functools.reduce(B.matmul, factors[:s])
    right = functools.reduce(B.matmul, factors[s:])
    return B.sum_(B.mul(left, B.T(right)))


emit_rule(EmitRule("trace-of-product", "tr(L R) = sum(L ∘ Rᵀ): the product is never built", "trace",
                   _trace_of_product))
