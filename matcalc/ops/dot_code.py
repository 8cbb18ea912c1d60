"""Emission rule for the sum of an elementwise product: ``sum(A * B) = vec(A) · vec(B)``,
computed without the ``A * B`` temporary.

``np.sum(A * B)`` writes the product to a new array and reads it again; the helper
``_vdot`` takes numpy's BLAS dot product when both arrays lie in memory the same way
(0.3–0.4 of the time, 1 thread, from ``[3, 3]`` to ``[100000, 10]``) and ``einsum``,
which also makes no temporary, when they do not (a product laid out transposed by
:mod:`.layout_code`: 0.6–0.85).  The cross-entropy ``sum(Y * log_softmax(Z))``, a
penalty ``sum(W * W)`` and the Gram form ``sum(P * (X.T @ X))`` of :mod:`.gram_code`
are such sums.  Only for equal shapes (no broadcasting) of at least one axis; the
array-API target keeps ``sum(A * B)``.

===================  ==========================  ==============================
rule                 identity                    numpy
===================  ==========================  ==============================
sum-of-product       sum(A ∘ B) = vec(A)ᵀvec(B)  _vdot(A, B): BLAS dot or einsum
sum-of-log-softmax   see below                   _sum_log_softmax(Y, Z, axis, unit)
===================  ==========================  ==============================

``sum-of-log-softmax``: with ``m`` the maximum and ``s = Σ exp(Z - m)`` along the axis,
``Σ Y ∘ log softmax(Z) = Σ Y ∘ (Z - m) - Σ_i (Σ_j Y_ij) log s_i``, so the cross-entropy's
value never writes ``log_softmax(Z)``: one pass over ``[n, k]`` fewer, and a second one
fewer when the rows of ``Y`` sum to 1 (one-hot, stochastic: ``Σ_i log s_i``).  As
stable as the log-softmax: ``Z - m ≤ 0`` and ``log s ≥ 0``, so for ``Y ≥ 0`` the two sums
have one sign and nothing cancels.  Only where ``log_softmax(Z)`` is not needed elsewhere
in the function (``value_and_grad`` shares it with the gradient's ``softmax``).
"""

from __future__ import annotations

import re

from .. import ir
from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, emit_rule
from .kron_gram_sym import unit_rows
from .layout_code import mark_short_axis

VDOT = '''def _vdot(a, b):
    """sum(a * b) for arrays of one shape, without the product's temporary: BLAS dot
    when both lie in memory alike, einsum otherwise."""
    if (a.flags.c_contiguous and b.flags.c_contiguous) or (a.flags.f_contiguous and b.flags.f_contiguous):
        return np.dot(a.ravel(order="K"), b.ravel(order="K"))
    letters = "ijklmnop"[:a.ndim]
    return np.einsum(f"{letters},{letters}->", a, b)'''


LOG_SOFTMAX_SUM = '''def _sum_log_softmax(y, a, axis, unit_rows, scratch=False):
    """sum(y * log_softmax(a, axis)) without writing log_softmax(a): sum(y * (a - m)) minus
    the log-normalizers log(sum(exp(a - m))) weighted by the sums of y along the axis
    (1 when unit_rows); a is overwritten when scratch (a temporary of the caller's)."""
    m = np.max(a, axis=axis, keepdims=True)
    if scratch:
        a -= m
        z = a
    else:
        z = a - m
    first = _vdot(y, z)
    np.exp(z, out=z)
    logs = np.log(np.sum(z, axis=axis))
    return first - (np.sum(logs) if unit_rows else _vdot(np.sum(y, axis=axis), logs))'''


def _sum_of_log_softmax(node, printer):
    """``sum(Y * log_softmax(Z, axis))`` (either order, equal shapes) →
    ``_sum_log_softmax(Y, Z, axis, unit_rows)``, when ``log_softmax(Z)`` has no other use."""
    if printer.target != "numpy" or node.attr("axis") is not None or node.attr("keepdims"):
        return None
    prod = node.args[0]
    if not B.is_op(prod, "mul") or prod.args[0].shape != prod.args[1].shape:
        return None
    for y, lsm in (prod.args, prod.args[::-1]):
        if B.is_op(lsm, "log_softmax") and lsm not in printer.shared and lsm not in printer.names:
            axis = lsm.attr("axis")
            unit = lsm.rank == 2 and axis == 1 and unit_rows(y)
            printer.helper("_vdot")
            mark_short_axis(lsm, printer)        # Z = A @ B laid out as the log-softmax would have it
            z = lsm.args[0]
            # a product or other array made for this sum alone may be overwritten
            scratch = isinstance(z, ir.Apply) and z not in printer.shared and not B.is_op(z, "transpose")
            text = printer.text(z)
            return (f"{printer.helper('_sum_log_softmax')}({printer.text(y)}, {text}, axis={axis}, "
                    f"unit_rows={unit}{', scratch=True' if scratch else ''})"), PREC_ATOM
    return None


def _sum_of_product(node, printer):
    """``sum(A * B)`` (all axes, equal shapes) → ``_vdot(A, B)``; ``sum(A ** 2)`` → ``_vdot(A, A)``."""
    if printer.target != "numpy" or node.attr("axis") is not None or node.attr("keepdims"):
        return None
    prod = node.args[0]
    if B.is_op(prod, "pow") and B.is_num(prod.args[1], 2):     # sum(A ** 2) = sum(A * A), A named
        a = b = prod.args[0]
        if not re.fullmatch(r"\w+", printer.text(a)):
            return None             # (printed twice it would be computed twice)
    elif B.is_op(prod, "mul"):
        a, b = prod.args
    else:
        return None
    if a.rank == 0 or a.shape != b.shape or a.shape != prod.shape:
        return None
    return f"{printer.helper('_vdot')}({printer.text(a)}, {printer.text(b)})", PREC_ATOM


emit_rule(EmitRule("sum-of-log-softmax", "Σ Y ∘ log softmax(Z) = Σ Y ∘ (Z - m) - Σ_i (Σ_j Y_ij) log s_i: "
                   "log_softmax(Z) never written", "sum", _sum_of_log_softmax,
                   helpers={"_sum_log_softmax": LOG_SOFTMAX_SUM, "_vdot": VDOT}))
emit_rule(EmitRule("sum-of-product", "sum(A ∘ B) = vec(A)ᵀ vec(B): no temporary for A ∘ B", "sum",
                   _sum_of_product, helpers={"_vdot": VDOT}))
