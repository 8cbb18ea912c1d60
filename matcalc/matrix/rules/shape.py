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


RULES = (reshape_twice, reshape_of_vec, vec_of_reshape)
