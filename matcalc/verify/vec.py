"""The vec convention, numerically: what a derivative predicts along a direction,
and which part of a result the props of a symbol make checkable.

A derivative of ``F`` w.r.t. ``X`` is stated either with its axes as written
(``F.shape + X.shape``: a gradient, the ``[out, in]`` Jacobian of a vector) or,
past two axes, as the 2-D matrix ``J = ∂ vec F / ∂ (vec X)ᵀ`` of shape
``[size(F), size(X)]`` where ``vec`` stacks columns (Fortran order)::

    J[i + a*j, p + m*q] = ∂ F[i, j] / ∂ X[p, q]      F [a, b], X [m, n]

so ``J.reshape(F.shape + X.shape, order="F")`` is the 4-index array of partial
derivatives (:func:`unvec`), and the change of ``F`` along ``V`` is
``reshape(J @ vec(V), F.shape)`` in the same order (:func:`along`).

For a symmetric (spd, diagonal, triangular, row-stochastic) symbol only
directions in its prop space exist, and a derivative is right when it agrees
there: a matrix ``G`` in the symbol's shape is then known only through
``<D, G>`` for such ``D``, i.e. up to its projection on that space
(:func:`projection`: the symmetric part ``(G + Gᵀ)/2`` for a symmetric symbol).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import ir


def vec(a: np.ndarray) -> np.ndarray:
    """The columns of ``a`` stacked (a vector is its own vec, a number a vector of one)."""
    return np.ravel(np.asarray(a), order="F")


def unvec(j: np.ndarray, out: tuple[int, ...], inp: tuple[int, ...]) -> np.ndarray:
    """The 4-index (or 3-index) array ``T[i, j, p, q] = ∂ F_ij / ∂ X_pq`` of a
    vec-convention Jacobian ``j`` [size(F), size(X)]."""
    return np.reshape(j, tuple(out) + tuple(inp), order="F")


def along(d: np.ndarray, v: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
    """The change of ``F`` (shape ``out``) along the direction ``v`` (the input's
    shape) that the derivative ``d`` predicts: ``<G, V>`` for a gradient of a scalar,
    ``d * v`` w.r.t. a scalar, the contraction over the input's axes where ``d`` has
    them as written, and ``reshape(d @ vec(v), out)`` (column order) for the 2-D
    matrix of the vec convention."""
    d, v = np.asarray(d, dtype=float), np.asarray(v, dtype=float)
    if not out:
        return np.sum(np.broadcast_to(d, v.shape) * v)
    if v.ndim == 0:
        return d * v
    if d.ndim == len(out) + v.ndim:          # the axes as written: F.shape + X.shape
        return np.tensordot(d, v, axes=v.ndim)
    return np.reshape(d @ vec(v), out, order="F")


def projection(sym: ir.Symbol | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """The projection of a matrix in ``sym``'s shape on the directions its props
    allow (None: every direction, nothing to project): what a Hessian's rows w.r.t.
    a symmetric ``S`` are known up to."""
    if sym is None or sym.rank != 2:
        if sym is not None and sym.rank == 1 and {"stochastic", "onehot"} & sym.props:
            return lambda a: a - np.mean(a, axis=-1, keepdims=True)
        return None
    props = sym.props
    if "diagonal" in props:
        return lambda a: np.diag(np.diag(a))
    if {"symmetric", "spd", "psd"} & props:
        if {"stochastic", "onehot"} & props:
            return lambda a: _centered((a + a.T) / 2)
        return lambda a: (a + a.T) / 2
    if "lower_triangular" in props:
        return np.tril
    if "upper_triangular" in props:
        return np.triu
    if {"stochastic", "onehot"} & props:
        return lambda a: a - np.mean(a, axis=-1, keepdims=True)
    return None


def _centered(k: np.ndarray) -> np.ndarray:
    """Rows and columns summing to 0 (see :func:`.sample._centered`)."""
    return k - k.mean(axis=0, keepdims=True) - k.mean(axis=1, keepdims=True) + k.mean()
