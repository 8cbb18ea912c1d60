"""Reductions and row/column-wise maps: ``sum mean trace norm softmax
log_softmax logsumexp``.

``axis`` follows numpy: for ``A: [n, m]``, ``sum(A, axis=0)`` is ``[m]`` (it
sums over rows), ``sum(A, axis=1)`` is ``[n]``.  ``softmax`` and friends
default to the last axis.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..index import nodes as I
from ..matrix import build as B
from ..shapes import ShapeMismatch, is_square, show
from ..registry import OPS, Op, Rewrite, register, rewrite
from . import keepdims as K
from . import mp


def _with(idx, axis, k):
    """The indices of the argument of a reduction: ``idx`` with ``k`` put at ``axis``."""
    return tuple(idx[:axis]) + (k,) + tuple(idx[axis:])


def _index_sum(node, args, idx, pool):
    """sum(A, axis=1)_i = Σ_j A_ij; sum(A) = Σ_i Σ_j A_ij."""
    a = node.args[0]
    axis = node.attr("axis")
    if axis is None:
        full = tuple(pool.fresh(d) for d in a.shape)
        body = args[0](full)
        for k in reversed(full):
            body = I.Sum(k, body)
        return body
    k = pool.fresh(a.shape[axis])
    return I.Sum(k, args[0](_with(idx, axis, k)))


def _index_mean(node, args, idx, pool):
    dims = node.args[0].shape if node.attr("axis") is None else (node.args[0].shape[node.attr("axis")],)
    factors = [I.Entry(d) if isinstance(d, str) else I.Num(d) for d in dims]
    count = I.Mul(tuple(factors)) if len(factors) > 1 else factors[0] if factors else I.Num(1)
    return I.Mul((I.inverse(count), _index_sum(node, args, idx, pool)))


def _index_trace(node, args, idx, pool):
    i = pool.fresh(node.args[0].shape[0])
    return I.Sum(i, args[0]((i, i)))


def _index_norm(node, args, idx, pool):
    a = node.args[0]
    full = tuple(pool.fresh(d) for d in a.shape)
    body: I.IExpr = I.Pow(args[0](full), I.Num(2))
    for k in reversed(full):
        body = I.Sum(k, body)
    return I.Func("sqrt", body)


def _rowwise_sum_exp(node, args, idx, pool, keep_axis: bool):
    a = node.args[0]
    axis = node.attr("axis")
    k = pool.fresh(a.shape[axis])
    inner = tuple(idx[:axis]) + (k,) + tuple(idx[axis + 1:]) if keep_axis else _with(idx, axis, k)
    return I.Sum(k, I.Func("exp", args[0](inner)))


def _index_softmax(node, args, idx, pool):
    """softmax(A, axis=1)_ij = exp(A_ij) / Σ_k exp(A_ik)."""
    return I.Mul((I.Func("exp", args[0](idx)), I.inverse(_rowwise_sum_exp(node, args, idx, pool, True))))


def _index_log_softmax(node, args, idx, pool):
    return I.Add((args[0](idx), I.neg(I.Func("log", _rowwise_sum_exp(node, args, idx, pool, True)))))


def _index_logsumexp(node, args, idx, pool):
    return I.Func("log", _rowwise_sum_exp(node, args, idx, pool, False))


def _count(shape, axis):
    """How many entries a reduction adds up, as a scalar expression."""
    dims = shape if axis is None else (shape[axis],)
    out = B.ONE
    for d in dims:
        out = B.mul(out, B.dim_scalar(d))
    return out


# Source of the helpers generated modules define (kept beside the functions
# the evaluator runs; a test checks that the two agree).
HELPERS = {
    "_softmax": '''def _softmax(a, axis):
    """exp(a) / sum(exp(a)) along axis, without overflow."""
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e''',
    "_log_softmax": '''def _log_softmax(a, axis):
    """log(softmax(a)) along axis, without overflow or log(0)."""
    z = a - np.max(a, axis=axis, keepdims=True)
    z -= np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    return z''',
    "_logsumexp": '''def _logsumexp(a, axis, keepdims=False):
    """log(sum(exp(a))) along axis, without overflow."""
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)''',
}


def _np_softmax(a, axis):
    z = a - np.max(a, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(a, axis):
    z = a - np.max(a, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _np_logsumexp(a, axis, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _vjp_sum(g, node):
    """s = sum(A, axis=1):  A-bar_ij = g_i (g spread back along the axis)."""
    return (K.full(g, node),)


def _vjp_mean(g, node):
    """mean(A, axis=1) = sum(A, axis=1) / m:  A-bar_ij = g_i / m."""
    a = node.args[0]
    return (B.div(K.full(g, node), _count(a.shape, node.attr("axis"))),)


def _softmax(a, axis):
    return B.call("softmax", a, axis=axis)


def _vjp_softmax(g, node):
    """S = softmax(A):  dS = S * (dA - spread(sum(S * dA)))  so
    A-bar = S * (G - spread(sum(G * S)))."""
    a, axis = node.args[0], node.attr("axis")
    inner = B.sum_(B.mul(g, node), axis if a.rank == 2 else None)
    return (B.mul(node, B.sub(g, B.spread(inner, axis if a.rank == 2 else None, a.shape))),)


def _vjp_log_softmax(g, node):
    """L = log_softmax(A) = A - spread(logsumexp(A)):  A-bar = G - softmax(A) * spread(sum(G))."""
    a, axis = node.args[0], node.attr("axis")
    ax = axis if a.rank == 2 else None
    return (B.sub(g, B.mul(_softmax(a, axis), B.spread(B.sum_(g, ax), ax, a.shape))),)


def _vjp_logsumexp(g, node):
    """logsumexp(A, axis=1):  A-bar = g (spread along the axis) * softmax(A, axis=1)."""
    a, axis = node.args[0], node.attr("axis")
    if K.kept(node):
        return (B.mul(g, _softmax(a, axis)),)
    ax = axis if a.rank == 2 else None
    return (B.mul(B.spread(g, ax, a.shape), _softmax(a, axis)),)


def _vjp_norm(g, node):
    return (B.mul(g, B.div(node.args[0], node)),)


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
        axis = _check_axis(shapes[0], attrs.get("axis"), name, default_last=False)
        return {"axis": axis, **K.check(name, shapes[0], axis, attrs.get("keepdims"))}
    return normalize


def _normalize_logsumexp(shapes, attrs):
    out = _normalize_rowwise("logsumexp")(shapes, attrs)
    return {**out, **K.check("logsumexp", shapes[0], out["axis"], attrs.get("keepdims"))}


def _normalize_rowwise(name):
    def normalize(shapes, attrs):
        if not shapes[0]:
            raise ShapeMismatch(f"{name} needs a vector or a matrix, not a scalar")
        return {"axis": _check_axis(shapes[0], attrs.get("axis"), name, default_last=True)}
    return normalize


_reduce_shape = K.shape


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
    register(Op(_name, "call", 1, _reduce_shape, params=K.PARAMS, normalize=_normalize_reduce(_name),
                array_api=f"xp.{_name}({{0}}{{axis_kw}}{{keepdims_kw}})",
                numpy=f"np.{_name}({{0}}{{axis_kw}}{{keepdims_kw}})", doc=f"{_name} of all entries or along an axis",
                samples=K.SAMPLES,
                vjp=_vjp_sum if _name == "sum" else _vjp_mean,
                fn=getattr(np, _name), keeps_nonnegative=True, index=K.index(_index_sum if _name == "sum" else _index_mean)))

register(Op("trace", "call", 1, _trace, array_api="_trace(xp, {0})", numpy="np.trace({0})", latex="\\operatorname{{tr}}({0})", unicode="tr({0})",
            doc="sum of the diagonal",
            vjp=lambda g, node: (B.mul(g, B.eye(node.args[0].shape[0])),), fn=np.trace,
            index=_index_trace))

register(Op("norm", "call", 1, lambda s, a: (), params=("ord",), normalize=_normalize_norm,
            array_api="xp.linalg.vector_norm({0})", numpy="np.linalg.norm({0})", latex="\\lVert {0} \\rVert",
            doc="2-norm of a vector, Frobenius norm of a matrix", vjp=_vjp_norm,
            fn=lambda a, ord=None: np.sqrt(np.sum(a * a)), mp=mp.norm, index=_index_norm, range="nonnegative"))

register(Op("softmax", "call", 1, _same, params=("axis",), normalize=_normalize_rowwise("softmax"),
            doc="exp(A) / sum(exp(A)) along an axis", vjp=_vjp_softmax, fn=_np_softmax, mp=mp.softmax,
            array_api="_softmax(xp, {0}, axis={axis})", numpy="_softmax({0}, axis={axis})", helpers={"_softmax": HELPERS["_softmax"]},
            rowwise=True, letter="S", log_form="log_softmax", range="unit", sums_to_one=True,
            index=_index_softmax))
register(Op("log_softmax", "call", 1, _same, params=("axis",),
            normalize=_normalize_rowwise("log_softmax"), doc="log(softmax(A)) along an axis",
            array_api="_log_softmax(xp, {0}, axis={axis})", numpy="_log_softmax({0}, axis={axis})", helpers={"_log_softmax": HELPERS["_log_softmax"]}, rowwise=True, letter="L",
            vjp=_vjp_log_softmax, fn=_np_log_softmax, mp=mp.log_softmax, index=_index_log_softmax))
register(Op("logsumexp", "call", 1, _reduce_shape, params=K.PARAMS, samples=K.SAMPLES,
            normalize=_normalize_logsumexp, doc="log(sum(exp(A))) along an axis",
            array_api="_logsumexp(xp, {0}, axis={axis}{keepdims_kw})", numpy="_logsumexp({0}, axis={axis}{keepdims_kw})", helpers={"_logsumexp": HELPERS["_logsumexp"]}, rowwise=True, letter="M",
            vjp=_vjp_logsumexp, fn=_np_logsumexp, mp=mp.logsumexp, index=K.index(_index_logsumexp)))


def _log_form(node):
    """log(F(A)) for an op F with a stable log form (log(softmax(A)) = log_softmax(A))."""
    a = node.args[0]
    if isinstance(a, ir.Apply) and OPS[a.op].log_form:
        return ir.apply(OPS[a.op].log_form, [a.args[0]], dict(a.attrs))
    return None


rewrite(Rewrite("log form", "log softmax(A) = log_softmax(A)", "log", _log_form))
