"""Statistics of the entries, over all of them or along an axis: ``max min var std``
(each with ``axis=`` and ``keepdims=``, like ``sum``).

``var`` and ``std`` are the population variance and standard deviation (numpy's
default, ddof 0): for ``x`` with ``n`` entries, ``var(x) = Σ (x - mean(x))² / n``.
Their adjoints are written as a person writes them::

    var(x) → 2 (x - mean(x)) / n        std(x) → (x - mean(x)) / (n std(x))

``max`` and ``min`` pass their adjoint to the entry that attains them; at a tie it
is split evenly among the tied entries (as ``maximum`` does), the weights
``T / sum(T)`` of the tie indicator ``T = 1 - sign(abs(A - max(A)))`` (1 where an
entry equals the max, 0 elsewhere: exact in floats, since the max is one of the
entries; for an elementwise ``A`` the gap is written ``maximum(A, M) - minimum(A, M)``,
which the simplifier cannot regroup).
"""

from __future__ import annotations

import mpmath
import numpy as np

from .. import ir
from ..index import nodes as I
from ..language import to_text
from ..matrix import build as B
from ..registry import OPS, Op, register
from ..shapes import ShapeMismatch
from . import keepdims as K
from . import mp
from .reductions import _check_axis, _count, _with


def _normalize(name: str):
    def normalize(shapes, attrs):
        shape = shapes[0]
        if not shape:
            raise ShapeMismatch(f"{name} needs a vector or a matrix, not a scalar",
                                f"{name} of a number is the number itself" if name in ("max", "min") else
                                f"{name} of a single number is 0")
        axis = _check_axis(shape, attrs.get("axis"), name, default_last=False)
        if axis is not None and shape[axis] == 1 and name == "std":
            raise ShapeMismatch(f"std along an axis of size 1 is 0 everywhere (and has no derivative)",
                                "reduce along the other axis, or drop std")
        return {"axis": axis, **K.check(name, shape, axis, attrs.get("keepdims"))}
    return normalize


def _reduced(node, idx, pool, body):
    """``Σ`` over the reduced indices of ``body(indices of the argument)``."""
    a, axis = node.args[0], node.attr("axis")
    if axis is None:
        full = tuple(pool.fresh(d) for d in a.shape)
        out = body(full)
        for k in reversed(full):
            out = I.Sum(k, out)
        return out
    k = pool.fresh(a.shape[axis])
    return I.Sum(k, body(_with(idx, axis, k)))


def _index_count(node):
    dims = node.args[0].shape if node.attr("axis") is None else (node.args[0].shape[node.attr("axis")],)
    factors = [I.Entry(d) if isinstance(d, str) else I.Num(d) for d in dims]
    return I.Mul(tuple(factors)) if len(factors) > 1 else factors[0]


def _index_var(node, args, idx, pool):
    """var(A, axis=1)_i = (1/m) Σ_k (A_ik - (1/m) Σ_l A_il)²."""
    inv_m = I.inverse(_index_count(node))
    mean = I.Mul((inv_m, _reduced(node, idx, pool, args[0])))
    return I.Mul((inv_m, _reduced(node, idx, pool, lambda full: I.Pow(I.Add((args[0](full), I.neg(mean))),
                                                                         I.Num(2)))))


def _index_std(node, args, idx, pool):
    """std(A, axis=1)_i = √var(A, axis=1)_i."""
    return I.Func("sqrt", _index_var(node, args, idx, pool))


def _centred(a: ir.Expr, axis) -> ir.Expr:
    """``A - mean(A, axis=1, keepdims=True)`` (``x - mean(x)`` for a vector)."""
    if axis is None or a.rank == 1:
        return B.sub(a, ir.apply("mean", [a], {"axis": None}))
    return B.sub(a, ir.apply("mean", [a], {"axis": axis, "keepdims": True}))


def _kept(name: str, node) -> ir.Expr:
    """The node's reduction with its axis kept, so that it broadcasts against the argument."""
    a, axis = node.args[0], node.attr("axis")
    if axis is None or a.rank == 1 or K.kept(node):
        return node if a.rank > 1 or axis is None else ir.apply(name, [a], {"axis": None})
    return ir.apply(name, [a], {"axis": axis, "keepdims": True})


def _vjp_var(g, node):
    """v = var(A, axis=1):  A-bar = 2 (A - mean(A, axis=1, keepdims=True)) / m ∘ g."""
    a, axis = node.args[0], node.attr("axis")
    grad = B.div(B.mul(B.num(2), _centred(a, axis)), _count(a.shape, axis))
    return (B.mul(K.back(g, node), grad),)


def _vjp_std(g, node):
    """s = std(A, axis=1):  A-bar = (A - mean(A, axis=1, keepdims=True)) / (m s) ∘ g."""
    a, axis = node.args[0], node.attr("axis")
    grad = B.div(_centred(a, axis), B.mul(_count(a.shape, axis), _kept("std", node)))
    return (B.mul(K.back(g, node), grad),)


def _ties(name: str, node) -> ir.Expr:
    """``T / sum(T)`` along the axis, ``T = 1 - sign(abs(A - max(A, axis, keepdims=True)))``:
    1 / (number of ties) at the entries equal to the max, 0 elsewhere."""
    a, axis = node.args[0], node.attr("axis")
    top = _kept(name, node)
    if _regrouped(a):
        # maximum(A, M) - minimum(A, M) = |A - M|, with A kept whole inside the calls:
        # the simplifier would regroup (c - x) - M into c - (x + M), and the rounding
        # of that is not 0 where c - x equals M
        gap = B.sub(B.call("maximum", a, top), B.call("minimum", a, top))
    else:
        gap = B.call("abs", B.sub(a, top))
    t = B.sub(B.ONE, B.call("sign", gap))
    ax = None if a.rank == 1 else axis
    total = ir.apply("sum", [t], {"axis": ax, "keepdims": True} if ax is not None else {"axis": None})
    return B.div(t, total)


def _regrouped(a: ir.Expr) -> bool:
    """Whether the simplifier's algebra would merge ``a`` into ``a - max(a)`` (an
    elementwise expression: its terms join the difference's)."""
    return isinstance(a, ir.Apply) and (a.op in ("add", "sub", "mul", "div", "neg", "pow")
                                        or OPS[a.op].elementwise)


def _vjp_extreme(name: str):
    def vjp(g, node):
        """M = max(A, axis=1):  A-bar = g (spread along the axis) ∘ T / sum(T, axis=1, keepdims=True),
        the adjoint split evenly among the entries that attain the max."""
        return (B.mul(K.back(g, node), _ties(name, node)),)
    return vjp


def _index_extreme(node, args, idx, pool):
    """max has no index form: max(A, axis=1)_i is an opaque entry."""
    return I.Opaque(node, tuple(idx), to_text(node))


def _index_deriv_extreme(name: str):
    def deriv(entry, d_arg, pool):
        """∂ max(A, axis=1)_i = Σ_k W_ik ∂A_ik, W = T / sum(T, axis=1, keepdims=True) the even split."""
        node = entry.expr
        idx = tuple(entry.indices)
        if K.kept(node):
            axis = node.attr("axis")
            idx = idx[:axis] + idx[axis + 1:]
        weights = _ties(name, node)
        return _reduced(node, idx, pool, lambda full: I.Mul((I.Opaque(weights, full, to_text(weights)),
                                                              d_arg(full))))
    return deriv


def _np(fn):
    def run(a, axis=None, keepdims=False):
        return fn(a, axis=axis, keepdims=bool(keepdims))
    return run


def _mp_var(a, axis=None, keepdims=False):
    a = mp.as_mp(a)
    count = a.size if axis is None else a.shape[axis]
    mean = np.sum(a, axis=axis, keepdims=True) / count
    return np.sum((a - mean) * (a - mean), axis=axis, keepdims=bool(keepdims)) / count


def _mp_std(a, axis=None, keepdims=False):
    return np.asarray(mp.elementwise(mpmath.sqrt)(_mp_var(a, axis, keepdims)), dtype=object)


def _register(name: str, numpy_fn, **fields):
    """One record: ``name(A, axis=..., keepdims=...)``, numpy's ``np.<name>``."""
    register(Op(name, "call", 1, K.shape, params=K.PARAMS, samples=K.SAMPLES, normalize=_normalize(name),
                numpy=f"np.{name}({{0}}{{axis_kw}}{{keepdims_kw}})",
                array_api=f"xp.{name}({{0}}{{axis_kw}}{{keepdims_kw}})",
                fn=_np(numpy_fn), **fields))


_register("max", np.max, doc="largest entry, of all or along an axis (ties split the gradient evenly)",
          vjp=_vjp_extreme("max"), index=_index_extreme, index_deriv=_index_deriv_extreme("max"),
          latex="\\max")
_register("min", np.min, doc="smallest entry, of all or along an axis (ties split the gradient evenly)",
          vjp=_vjp_extreme("min"), index=_index_extreme, index_deriv=_index_deriv_extreme("min"),
          latex="\\min")
_register("var", np.var, doc="population variance (ddof 0), of all entries or along an axis",
          vjp=_vjp_var, index=K.index(_index_var), mp=_mp_var, range="nonnegative")
_register("std", np.std, doc="population standard deviation (ddof 0), of all entries or along an axis",
          vjp=_vjp_std, index=K.index(_index_std), mp=_mp_std, range="nonnegative")
