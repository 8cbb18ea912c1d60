"""``keepdims=True`` on a reduction along an axis: what every reduction record
(``sum mean logsumexp max min var std``) shares about it.

numpy's meaning: the reduced axis is kept with size 1, so for ``A: [n, m]``
``sum(A, axis=1, keepdims=True)`` is ``[n, 1]`` (``A 1``, a column) and
``sum(A, axis=0, keepdims=True)`` is ``[1, m]`` (``1ᵀ A``, a row); the result
broadcasts back against ``A``: ``X - mean(X, axis=1, keepdims=True)`` centres
each row.  ``keepdims=False`` is the default and is not stored on the node, so
the nodes of a reduction written without it are unchanged.

In index notation the kept axis carries the size-1 index, which the reduction
ignores: ``sum(A, axis=1, keepdims=True)_{i1} = Σ_j A_ij``.  Its adjoint ``g``
(``[n, 1]``) broadcasts back against ``A`` as it is: no spreading is needed.
"""

from __future__ import annotations

import numpy as np

from ..matrix import build as B
from ..shapes import ShapeMismatch

PARAMS = ("axis", "keepdims")
SAMPLES = {"axis": (None, 0, 1), "keepdims": (False, True)}


def kept(node) -> bool:
    """Whether ``node`` (a reduction) keeps its reduced axis."""
    return bool(node.attr("keepdims"))


def check(name: str, shape, axis, keepdims) -> dict:
    """The ``keepdims`` attribute to store (none for False), or a ShapeMismatch."""
    if keepdims is None or keepdims is False:
        return {}
    if keepdims is not True:
        raise ShapeMismatch(f"keepdims of {name} must be True or False, not {keepdims!r}",
                            "write keepdims=True or leave it out")
    if axis is None:
        raise ShapeMismatch(f"keepdims=True needs an axis: {name} of all entries is a number",
                            f"write {name}(A, axis=1, keepdims=True) (or axis=0)")
    return {"keepdims": True}


def shape(shapes, attrs):
    """``[n, m]`` → ``[n]`` (axis=1), ``[n, 1]`` with keepdims; no axis → a scalar."""
    axis = attrs.get("axis")
    if axis is None:
        return ()
    s = shapes[0]
    if attrs.get("keepdims"):
        return tuple(1 if i == axis else d for i, d in enumerate(s))
    return tuple(d for i, d in enumerate(s) if i != axis)


def index(inner):
    """The index definition of a keepdims reduction from the plain one: the size-1
    index at the kept axis is dropped (``r_{i1} = r_i``)."""
    def lowered(node, args, idx, pool):
        if kept(node):
            axis = node.attr("axis")
            idx = tuple(idx[:axis]) + tuple(idx[axis + 1:])
        return inner(node, args, idx, pool)
    lowered.__doc__ = inner.__doc__
    return lowered


def back(g, node):
    """The adjoint ``g`` of a reduction made to broadcast against its argument:
    as it is when the axis was kept (``[n, 1]``) or everything was reduced (a
    number); spread along the axis otherwise (``outer(g, ones(m))``)."""
    axis = node.attr("axis")
    if kept(node) or axis is None:
        return g
    return B.spread(g, axis, node.args[0].shape)


def full(g, node):
    """``back(g, node)`` at the argument's full shape (``g * ones(n, m)``)."""
    out = back(g, node)
    shape_ = node.args[0].shape
    return out if out.shape == tuple(shape_) else B.mul(out, B.ones(shape_))


def keep(value, axis, keepdims):
    """A numpy reduction's value with its axis put back when ``keepdims``."""
    return np.expand_dims(value, axis) if keepdims and axis is not None else value
