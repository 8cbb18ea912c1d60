"""Evaluate index notation with ``numpy.einsum``: an evaluator independent of
the matrix-level one (:mod:`matcalc.evaluate`), used to check lowering and,
in the tests, to compute values for finite differences by a second route.

Every subexpression evaluates to an array whose axes are labelled by its free
indices; products are einsums over the union of labels, sums contract a label.
It computes in extended precision (``numpy.longdouble``: exponents to about
±11,000 on x86) and takes ``log Σ_k exp(a_k)`` as ``m + log Σ_k exp(a_k − m)``,
so the definitions of softmax and logsumexp have the range of the matrix
evaluator's stable forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from ..registry import lookup
from ..shapes import dim_size
from .nodes import UNIT, Add, Delta, Entry, Func, IExpr, Index, Mul, Num, Opaque, Pow, Sum

Labelled = tuple[np.ndarray, tuple[Index, ...]]



def _function(name: str):
    """The elementwise function ``name`` in extended precision: its record's
    ``einsum`` form where ``fn`` would round to float64 (sigmoid), else ``fn``."""
    op = lookup(name)
    return op.einsum or op.fn


def evaluate_index(e: IExpr, values: Mapping[str, np.ndarray], dims: Mapping[str, int],
                   order: tuple[Index, ...]) -> np.ndarray:
    """The array of ``e`` with axes in ``order`` (its free indices)."""
    ev = _Evaluator(values, dims)
    arr, labels = ev.run(e)
    return ev.align(arr, labels, tuple(ix for ix in order if ix != UNIT)).astype(float)


WIDE = np.longdouble


class _Evaluator:
    def __init__(self, values, dims):
        self.values = values
        self.dims = dims

    def size(self, ix: Index) -> int:
        return dim_size(ix.dim, self.dims)

    def align(self, arr: np.ndarray, labels, target) -> np.ndarray:
        """Broadcast ``arr`` (axes ``labels``) to axes ``target``."""
        letters = {ix: chr(97 + n) for n, ix in enumerate(dict.fromkeys((*labels, *target)))}
        for ix in labels:
            if ix not in target:
                raise ValueError(f"free index {ix.name} is not among {[t.name for t in target]}")
        src = "".join(letters[ix] for ix in labels)
        dst = "".join(letters[ix] for ix in target if ix in labels)
        out = np.einsum(f"{src}->{dst}", arr) if labels else np.asarray(arr)
        shape = [self.size(ix) if ix in labels else 1 for ix in target]
        out = out.reshape(shape)
        return np.broadcast_to(out, [self.size(ix) for ix in target])

    def run(self, e: IExpr) -> Labelled:
        if isinstance(e, Num):
            value = e.value
            if isinstance(value, Fraction):
                value = WIDE(value.numerator) / WIDE(value.denominator)
            return np.asarray(value, dtype=WIDE), ()
        if isinstance(e, Entry):
            if e.name in self.values:
                arr = np.asarray(self.values[e.name], dtype=WIDE)
            else:
                arr = np.asarray(self.dims[e.name], dtype=WIDE)
            return self.entry(arr, e.indices)
        if isinstance(e, Opaque):
            from ..evaluate import evaluate
            arr = np.asarray(evaluate(e.expr, self.values, self.dims), dtype=WIDE)
            return self.entry(arr, e.indices)
        if isinstance(e, Delta):
            if e.i == e.j:
                return np.ones(self.size(e.i), dtype=WIDE), (e.i,)
            return np.eye(self.size(e.i), dtype=WIDE), (e.i, e.j)
        if isinstance(e, Sum):
            arr, labels = self.run(e.body)
            if e.index in labels:
                axis = labels.index(e.index)
                return arr.sum(axis=axis), labels[:axis] + labels[axis + 1:]
            return arr * self.size(e.index), labels
        if isinstance(e, Mul):
            parts = [self.run(f) for f in e.factors]
            return self.product(parts)
        if isinstance(e, Add):
            parts = [self.run(t) for t in e.terms]
            labels = tuple(dict.fromkeys(ix for _, ls in parts for ix in ls))
            return sum(self.align(a, ls, labels) for a, ls in parts), labels
        if isinstance(e, Pow):
            (b, lb), (p, lp) = self.run(e.base), self.run(e.exp)
            labels = tuple(dict.fromkeys((*lb, *lp)))
            return np.power(self.align(b, lb, labels), self.align(p, lp, labels)), labels
        if isinstance(e, Func):
            if e.name == "log" and isinstance(e.arg, Sum) and isinstance(e.arg.body, Func) \
                    and e.arg.body.name == "exp":
                return self.log_sum_exp(e.arg.index, e.arg.body.arg)
            arr, labels = self.run(e.arg)
            return _function(e.name)(arr), labels
        raise TypeError(type(e))

    def log_sum_exp(self, index: Index, arg: IExpr) -> Labelled:
        arr, labels = self.run(arg)
        if index not in labels:
            return arr + np.log(WIDE(self.size(index))), labels
        axis = labels.index(index)
        top = np.max(arr, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        out = np.log(np.sum(np.exp(arr - top), axis=axis)) + np.squeeze(top, axis=axis)
        return out, labels[:axis] + labels[axis + 1:]

    def entry(self, arr: np.ndarray, indices) -> Labelled:
        """``A_ii`` takes a diagonal, ``c_{i1}`` drops a size-1 axis."""
        keep = [n for n, ix in enumerate(indices) if ix != UNIT]
        for n in reversed(range(len(indices))):
            if indices[n] == UNIT:
                arr = np.take(arr, 0, axis=n)
        idx = tuple(indices[n] for n in keep)
        if len(idx) == 2 and idx[0] == idx[1]:
            return np.diagonal(arr).copy(), (idx[0],)
        return arr, idx

    def product(self, parts) -> Labelled:
        labels = tuple(dict.fromkeys(ix for _, ls in parts for ix in ls))
        letters = {ix: chr(97 + n) for n, ix in enumerate(labels)}
        spec = ",".join("".join(letters[ix] for ix in ls) for _, ls in parts)
        out = "".join(letters[ix] for ix in labels)
        return np.einsum(f"{spec}->{out}", *[a for a, _ in parts]), labels
