"""Code rewrites for symmetric positive definite matrices and inverses in products.

Measured in numpy-only code (1 thread): ``logdet`` of an spd matrix as ``2 Σ log diag
chol(P)`` costs 0.7-0.85x ``slogdet`` from 64 rows up (Cholesky is half an LU), 1.0x at 32
and up to 1.7x below (more calls), so the emitted helper switches at 32 rows (an emission
rule: nothing else uses the factor, see below).  An
inverse through the Cholesky factor costs 1.45-1.6x ``np.linalg.inv`` (numpy has no
triangular solve or inverse), and ``solve`` against the factor is not available, so
``inv`` and ``solve`` stay LU.  A rank-one matrix inside a product is never multiplied
as a matrix: ``inv(K) @ outer(y, y) @ inv(K)`` is ``outer(inv(K) @ y, inv(K) @ y)``,
each factor a ``solve`` (or a product with the inverse the function builds anyway),
and a vector times a symmetric inverse is written ``inv(K) @ y``, so the value
``y @ inv(K) @ y`` and the gradient share it.  Code rewrites
(:mod:`matcalc.codegen.algebra`), applied before common subexpressions are found.

===================  ===================================  ==================================
rule                 identity                             numpy
===================  ===================================  ==================================
logdet-cholesky      log det P = 2 Σ log diag chol(P)      _logdet_spd(P)  (emission rule)
outer-in-product     M (a bᵀ) = (M a) bᵀ, (a bᵀ) M = a (Mᵀ b)ᵀ  np.outer(M @ a, b)
symmetric-inverse    yᵀ S⁻¹ = (S⁻¹ y)ᵀ for S = Sᵀ           np.linalg.solve(S, y)
===================  ===================================  ==================================
"""

from __future__ import annotations

import functools

from .. import ir
from ..matrix import build as B
from ..registry import PREC_ATOM, EmitRule, Rewrite, code_rewrite, emit_rule

# How far down the structural tests look (sufficient tests: past this, "not known").
LOOK = 30


def _positive(s: ir.Expr) -> bool:
    """A scalar known > 0: a positive number or symbol, a dimension."""
    if isinstance(s, ir.Number):
        return s.value > 0
    return isinstance(s, ir.Dim) or (isinstance(s, ir.Symbol) and s.rank == 0 and "positive" in s.props)


@functools.lru_cache(maxsize=4096)
def definite(e: ir.Expr, strict: bool = True, depth: int = 0) -> bool:
    """A sufficient test that ``e`` is positive definite (semidefinite when not
    ``strict``): an spd symbol (psd too when not strict), ``c I`` with ``c > 0``,
    ``F Fᵀ`` and ``Fᵀ S F`` for a semidefinite ``S`` (semidefinite), a definite plus a
    semidefinite, a positive multiple, an inverse of a definite matrix."""
    if e.rank != 2 or depth > LOOK:
        return False
    if isinstance(e, ir.Symbol):
        return "spd" in e.props or (not strict and "psd" in e.props)
    if B.is_eye(e):
        return True
    if B.is_op(e, "mul", "div"):
        s, m = e.args if e.op == "div" or e.args[0].rank == 0 else reversed(e.args)
        if e.op == "div":
            s, m = m, s
        return s.rank == 0 and _positive(s) and definite(m, strict, depth + 1)
    if B.is_op(e, "add"):
        a, b = e.args
        return ((definite(a, strict, depth + 1) and definite(b, False, depth + 1))
                or (definite(b, strict, depth + 1) and definite(a, False, depth + 1)))
    if B.is_op(e, "inv"):
        return definite(e.args[0], True, depth + 1)
    if B.is_op(e, "matmul") and not strict:
        chain = B.matrix_factors(e)
        half, middle = divmod(len(chain), 2)
        return (all(chain[i] == B.T(chain[-1 - i]) for i in range(half))
                and (not middle or definite(chain[half], False, depth + 1)))
    return False


LOGDET_SPD = "_logdet_spd"
HELPERS = {LOGDET_SPD: '''def _logdet_spd(a):
    """log det of a symmetric positive definite matrix: 2 sum(log(diag(L))) for its
    Cholesky factor L (half the work of slogdet's LU) from 32 rows up; slogdet below
    (fewer calls) or when a is not positive definite (NaN where det < 0)."""
    if a.shape[0] >= 32:
        try:
            return 2 * np.sum(np.log(np.linalg.cholesky(a).diagonal()))
        except np.linalg.LinAlgError:
            pass
    sign, logabsdet = np.linalg.slogdet(a)
    return logabsdet if sign >= 0 else np.float64(np.nan)'''}


def _logdet_cholesky(node, printer):
    """``logdet(P)`` → ``_logdet_spd(P)`` (Cholesky) for a positive definite ``P``, numpy target."""
    p = node.args[0]
    if printer.target != "numpy" or not definite(p):
        return None
    return f"{printer.helper(LOGDET_SPD)}({printer.text(p)})", PREC_ATOM


def _outer_in_product(node):
    """``M @ outer(a, b)`` → ``outer(M @ a, b)``; ``outer(a, b) @ M`` → ``outer(a, b @ M)``;
    a vector times an outer product is a scaled vector: ``outer(a, b) @ x = a (b·x)``."""
    a, b = node.args
    if B.is_op(b, "outer") and a.rank == 2:
        return B.outer(B.matmul(a, b.args[0]), b.args[1])
    if B.is_op(a, "outer") and b.rank == 2:
        return B.outer(a.args[0], B.matmul(a.args[1], b))
    return None


def _symmetric(e: ir.Expr) -> bool:
    """The simplifier's structural test (:func:`matcalc.matrix.rules.common.is_symmetric`),
    imported when used: that module reads the op records this one is part of."""
    from ..matrix.rules.common import is_symmetric
    return is_symmetric(e)


def _symmetric_inverse(node):
    """``y @ inv(S)`` → ``inv(S) @ y`` for a vector ``y`` and a symmetric ``S``: one
    spelling of ``S⁻¹ y``, so the value and the gradient share it."""
    y, m = node.args
    if y.rank != 1 or not B.is_op(m, "inv") or not _symmetric(m.args[0]):
        return None
    return B.matmul(m, y)


emit_rule(EmitRule("logdet-cholesky", "log det P = 2 Σ_i log L_ii, P = L Lᵀ spd: Cholesky, half an LU",
                   "logdet", _logdet_cholesky, HELPERS))
code_rewrite(Rewrite("outer-in-product", "M (a bᵀ) = (M a) bᵀ: a rank-one matrix is never multiplied as a matrix",
                     "matmul", _outer_in_product))
code_rewrite(Rewrite("symmetric-inverse", "yᵀ S⁻¹ = (S⁻¹ y)ᵀ for a symmetric S: one spelling, shared",
                     "matmul", _symmetric_inverse))
