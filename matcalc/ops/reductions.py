"""Reductions and row/column-wise maps: ``sum mean trace norm softmax
log_softmax logsumexp``.

``axis`` follows numpy: for ``A: [n, m]``, ``sum(A, axis=0)`` is ``[m]`` (it
sums over rows), ``sum(A, axis=1)`` is ``[n]``.  ``softmax`` and friends
default to the last axis.
"""

from __future__ import annotations

from ..shapes import ShapeMismatch, is_square, show
from . import Op, register


def _check_axis(shape, axis, name, default_last: bool):
    if axis is None:
        if default_last and shape:
            return len(shape) - 1
        return None
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeMismatch(f"axis of {name} must be an integer, not {axis!r}", "write axis=0 or axis=1")
    rank = len(shape)
    if rank == 0:
        raise ShapeMismatch(f"{name} of a scalar has no axis {axis}", "drop the axis argument")
    if not -rank <= axis < rank:
        valid = "axis=0" if rank == 1 else "axis=0 or axis=1"
        raise ShapeMismatch(f"axis {axis} is out of range for {name} of a {show(shape)} "
                            f"{'vector' if rank == 1 else 'matrix'}", f"use {valid}")
    return axis % rank


def _normalize_reduce(name):
    def normalize(shapes, attrs):
        return {"axis": _check_axis(shapes[0], attrs.get("axis"), name, default_last=False)}
    return normalize


def _normalize_rowwise(name):
    def normalize(shapes, attrs):
        if not shapes[0]:
            raise ShapeMismatch(f"{name} needs a vector or a matrix, not a scalar")
        return {"axis": _check_axis(shapes[0], attrs.get("axis"), name, default_last=True)}
    return normalize


def _reduce_shape(shapes, attrs):
    axis = attrs.get("axis")
    if axis is None:
        return ()
    s = shapes[0]
    return tuple(d for i, d in enumerate(s) if i != axis)


def _same(shapes, attrs):
    return shapes[0]


def _trace(shapes, attrs):
    s = shapes[0]
    if not is_square(s):
        raise ShapeMismatch(f"trace needs a square matrix, not {show(s)}",
                            "trace(A.T @ B) or trace(A @ B.T) makes a square product")
    return ()


def _normalize_norm(shapes, attrs):
    ord_ = attrs.get("ord")
    if ord_ not in (None, "fro"):
        raise ShapeMismatch(f"norm supports the 2-norm of a vector and 'fro', not {ord_!r}",
                            "write norm(x) or norm(A, 'fro')")
    if not shapes[0]:
        raise ShapeMismatch("norm needs a vector or a matrix, not a scalar", "write abs(x)")
    return {"ord": ord_} if ord_ is not None else {}


for _name in ("sum", "mean"):
    register(Op(_name, "call", 1, _reduce_shape, params=("axis",), normalize=_normalize_reduce(_name),
                numpy=f"np.{_name}({{0}}{{axis}})", doc=f"{_name} of all entries or along an axis"))

register(Op("trace", "call", 1, _trace, numpy="np.trace({0})", latex="\\operatorname{{tr}}({0})",
            doc="sum of the diagonal"))

register(Op("norm", "call", 1, lambda s, a: (), params=("ord",), normalize=_normalize_norm,
            numpy="np.linalg.norm({0})", latex="\\lVert {0} \\rVert",
            doc="2-norm of a vector, Frobenius norm of a matrix"))

register(Op("softmax", "call", 1, _same, params=("axis",), normalize=_normalize_rowwise("softmax"),
            doc="exp(A) / sum(exp(A)) along an axis"))
register(Op("log_softmax", "call", 1, _same, params=("axis",),
            normalize=_normalize_rowwise("log_softmax"), doc="log(softmax(A)) along an axis"))
register(Op("logsumexp", "call", 1, _reduce_shape, params=("axis",),
            normalize=_normalize_rowwise("logsumexp"), doc="log(sum(exp(A))) along an axis"))
