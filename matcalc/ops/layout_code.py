"""Emission rules for the layout of emitted numpy: the same numbers, fewer and faster passes.

OpenBLAS computes ``A @ B`` faster when the result's longer side runs along its rows in
memory: for ``X`` ``[n, m]`` tall, ``(W.T @ X.T).T`` beats ``X @ W`` and ``(D.T @ X).T``
beats ``X.T @ D`` by 20-60% (bench/layout_emission.py), and the transposed result,
``[n, k]`` with ``n`` contiguous, makes a softmax over its ``k`` columns run along ``n``
(numpy's reductions follow the memory order) instead of as ``n`` loops of length ``k``.
Which side is longer is known only at run time (the declared sizes are examples), so
the helper ``_product`` chooses from the actual shapes: one comparison.

``1 - tanh²(x)`` is emitted stably as ``4 σ(2x) σ(-2x)`` (no cancellation where
``tanh(x)`` rounds to ±1); ``sech²(x) = 1 / cosh²(x)`` is the same value, as stable, in
one transcendental pass instead of two sigmoids (15x faster on ``[4096, 256]``).

======================  ===================================  ===============================
rule                    identity                             numpy
======================  ===================================  ===============================
short-axis-softmax      softmax(A B) along its columns       _softmax(_product(A, B), axis=1)
transposed-product      Aᵀ D = (Dᵀ A)ᵀ                       _product(A.T, D)
tanh-derivative         4 σ(2x) σ(-2x) = sech²(x)            _sech2(x)
======================  ===================================  ===============================
"""

from __future__ import annotations

from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, emit_rule

PRODUCT = '''def _product(a, b):
    """a @ b, computed as (b.T @ a.T).T (the same numbers, the long side contiguous) when
    it has more rows than columns, and few columns (a reduction along a row then runs
    along the long side) or at least as many inner terms (OpenBLAS is faster so)."""
    rows, inner, cols = a.shape[0], a.shape[1], b.shape[1]
    return (b.T @ a.T).T if rows > cols and (cols <= 32 or inner >= cols) else a @ b'''

SECH2 = '''def _sech2(x):
    """1 - tanh(x) ** 2 = 1 / cosh(x) ** 2, without cancellation where tanh(x) rounds to 1."""
    with np.errstate(over="ignore"):    # cosh(x) = inf past |x| = 710, where sech(x) ** 2 is 0
        s = 1 / np.cosh(x)
    return s * s'''

ROWWISE = ("softmax", "log_softmax", "logsumexp")


def _plain_product(e, printer) -> bool:
    """Whether ``e`` is a product of two matrices not yet printed, that the Emitter would
    not print otherwise (``diag(v) @ M``, ``inv(A) @ B``, ``Mᵀ diag(v) M``) and that is
    no Gram product ``Aᵀ A`` / ``A Aᵀ`` (square; numpy computes it as a symmetric rank-k update)."""
    if not B.is_op(e, "matmul") or e in printer.names:
        return False
    a, b = e.args
    if a.rank != 2 or b.rank != 2 or B.T(a) == b:
        return False
    special = ("diag", "inv", "matmul")
    return not any(B.is_op(f, *special) or (B.is_op(f, "transpose") and B.is_op(f.args[0], *special))
                   for f in (a, b))


def _short_axis(node, printer):
    """``softmax(A @ B, axis=1)`` (and log_softmax, logsumexp): the product ``A @ B`` is
    marked to print as ``_product(A, B)``, laid out so the reduction runs along the long
    side; the op itself prints as usual (None)."""
    arg = node.args[0]
    if printer.target == "numpy" and node.attr("axis") == 1 and _plain_product(arg, printer):
        printer.scratch.setdefault("short-axis", set()).add(arg)
    return None


def _layout_product(node, printer):
    """``A.T @ D`` → ``_product(A.T, D)`` (computed as ``(D.T @ A).T`` when the result is
    tall), and a product marked by :func:`_short_axis`."""
    if printer.target != "numpy" or not _plain_product(node, printer):
        return None
    if not (B.is_op(node.args[0], "transpose") or node in printer.scratch.get("short-axis", ())):
        return None
    a, b = node.args
    return f"{printer.helper('_product')}({printer.text(a)}, {printer.text(b)})", PREC_ATOM


def _sech2_argument(node):
    """``x`` when ``node`` is ``4 σ(2x) σ(-2x)`` (the stable form of ``1 - tanh²(x)``), else None."""
    a, b = node.args
    if not (B.is_op(a, "mul") and B.is_num(a.args[0], 4) and B.is_op(a.args[1], "sigmoid") and B.is_op(b, "sigmoid")):
        return None
    p, q = a.args[1].args[0], b.args[0]
    if q == B.neg(p) or p == B.neg(q):
        twice = p if q == B.neg(p) else q
        if B.is_op(twice, "mul") and B.is_num(twice.args[0], 2) and twice.shape == node.shape:
            return twice.args[1]
    return None


def _tanh_derivative(node, printer):
    """``4 * _sigmoid(2 * x) * _sigmoid(-2 * x)`` → ``_sech2(x)``."""
    x = _sech2_argument(node) if printer.target == "numpy" else None
    if x is None:
        return None
    return f"{printer.helper('_sech2')}({printer.text(x)})", PREC_ATOM


for _root in ROWWISE:
    emit_rule(EmitRule("short-axis-softmax", "softmax(A B) along its columns: the product laid out with the "
                       "long side contiguous", _root, _short_axis))
emit_rule(EmitRule("transposed-product", "Aᵀ D = (Dᵀ A)ᵀ: computed with the long side of the result contiguous "
                   "(and the product under short-axis-softmax)", "matmul", _layout_product, helpers={"_product": PRODUCT}))
emit_rule(EmitRule("tanh-derivative", "4 σ(2x) σ(-2x) = sech²(x) = 1 / cosh²(x): one pass, as stable", "mul",
                   _tanh_derivative, helpers={"_sech2": SECH2}))
