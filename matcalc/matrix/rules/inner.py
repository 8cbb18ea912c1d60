"""Inner products of vectors written with ``@`` (the recognizer writes ``Σ_k x_k y_k``
as ``x @ y``): with ``ones``, they are a dimension or a sum.

>>> from matcalc.matrix import build as B
>>> from matcalc.render.text import to_text
>>> to_text(ones_inner.apply(B.matmul(B.ones(("m",)), B.ones(("m",))), None))
'm'
"""

from __future__ import annotations

import functools

from ... import ir
from .. import build as B
from ..contraction import unit_summed
from .common import rule


@rule("ones-inner", "1 · 1 = n; 1 · v = v · 1 = Σ_i v_i (vectors, with @ or dot)", ["matmul", "dot"])
def ones_inner(e, ctx):
    x, y = e.args
    if not (x.rank == 1 and y.rank == 1):
        return None
    if B.is_ones(x) and B.is_ones(y):
        return B.dim_scalar(x.shape[0])
    if B.is_ones(x) or B.is_ones(y):
        return B.sum_(y if B.is_ones(x) else x)
    return None


@rule("unit-sums-product", "Σ_j C_ij ∘ Σ_j D_ij = Σ_j (C ∘ D)_ij over an axis j of size 1 "
      "(columns read as vectors: sum(C, axis=1) * sum(D, axis=1) = sum(C * D, axis=1))", ["mul"])
def unit_sums_product(e, ctx):
    if e.rank != 1:
        return None
    factors, stack = [], [e]
    while stack:                                   # the Hadamard chain under e, in order
        f = stack.pop()
        if B.is_op(f, "mul") and f.rank == 1 and all(a.rank == 1 for a in f.args):
            stack.extend(reversed(f.args))
        else:
            factors.append(f)
    groups: dict[tuple, list[ir.Expr]] = {}
    for f in factors:
        cut = unit_summed(f)
        if cut is not None:
            groups.setdefault((cut[0].shape, cut[1]), []).append(cut[0])
    if all(len(g) < 2 for g in groups.values()):
        return None
    out, done = [], set()
    for f in factors:
        cut = unit_summed(f)
        key = (cut[0].shape, cut[1]) if cut else None
        if key is None or len(groups[key]) < 2:
            out.append(f)
        elif key not in done:
            done.add(key)
            out.append(B.sum_(functools.reduce(B.mul, groups[key]), key[1]))
    return functools.reduce(B.mul, out)


RULES = (ones_inner,)
REGION = (unit_sums_product,)     # a Hadamard chain is inside an elementwise result
