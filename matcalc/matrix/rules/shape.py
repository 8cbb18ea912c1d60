"""Reshapes undone: ``reshape(reshape(A, s), t) = reshape(A, t)``, ``reshape(A, shape of A) = A``,
``reshape(vec(Y), (m, n))ᵀ = Y`` and ``vec(reshape(g, (m, n))ᵀ) = g`` (the adjoint of
``vec`` meeting a ``vec``: ``vec(A @ X @ B) @ vec(Y)`` w.r.t. ``X`` is ``Aᵀ Y Bᵀ``)."""

from __future__ import annotations

from ... import ir
from .. import build as B
from .common import rule

SHAPE = "shape"


@rule("reshape-twice", "reshape(reshape(A, s), t) = reshape(A, t); reshape(A, shape of A) = A", ["reshape"])
def reshape_twice(e, ctx):
    a = e.args[0]
    if a.shape == e.shape:
        return a
    if B.is_op(a, "reshape"):
        inner = a.args[0]
        return inner if inner.shape == e.shape else ir.apply("reshape", [inner], {SHAPE: e.attr(SHAPE)})
    return None


@rule("reshape-of-vec", "reshape(vec(Y), (m, n))ᵀ = Y for Y [n, m]", ["transpose"])
def reshape_of_vec(e, ctx):
    a = e.args[0]
    if B.is_op(a, "reshape") and B.is_op(a.args[0], "vec") and a.args[0].args[0].shape == e.shape:
        return a.args[0].args[0]
    return None


@rule("vec-of-reshape", "vec(reshape(g, (m, n))ᵀ) = g", ["vec"])
def vec_of_reshape(e, ctx):
    a = e.args[0]
    if B.is_op(a, "transpose") and B.is_op(a.args[0], "reshape") and a.args[0].args[0].shape == e.shape:
        return a.args[0].args[0]
    if a.rank == 1:
        return a
    return None


def _unit(e):
    """``eye(n)[j]`` → the attr item ``("index", j)``, else None."""
    if B.is_op(e, "getitem") and B.is_eye(e.args[0]) and e.rank == 1:
        return e.attr("at")[0]
    return None


def _take(a, item, axis):
    at = [("slice", 0, d) for d in a.shape]
    at[axis] = item
    return ir.apply("getitem", [a], {"at": tuple(at)})


@rule("product-with-unit-vector", "A eⱼ = A[:, j], eᵢᵀ A = A[i], eᵢᵀ x = x[i] (eⱼ = eye(m)[j])", ["matmul"])
def product_with_unit_vector(e, ctx):
    a, b = e.args
    if _unit(b) is not None and a.rank >= 1:
        return _take(a, _unit(b), a.rank - 1)
    if _unit(a) is not None and b.rank >= 1:
        return _take(b, _unit(a), 0)
    return None


@rule("row-sum-with-unit-vector", "Σ_k (A ∘ 1 eⱼᵀ)_ik = A[:, j]: sum(eye(m)[j] * A, axis=1) = A[:, j]", ["sum"])
def row_sum_with_unit_vector(e, ctx):
    a = e.args[0]
    if not (B.is_op(a, "mul") and a.rank == 2 and e.attr("axis") in (1, -1)):
        return None
    for u, other in ((a.args[0], a.args[1]), (a.args[1], a.args[0])):
        if _unit(u) is not None and other.shape == a.shape:
            return _take(other, _unit(u), 1)
    return None


RULES = (reshape_twice, reshape_of_vec, vec_of_reshape, product_with_unit_vector, row_sum_with_unit_vector)
