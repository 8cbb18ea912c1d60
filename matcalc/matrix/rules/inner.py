"""Inner products of vectors written with ``@`` (the recognizer writes ``Σ_k x_k y_k``
as ``x @ y``): with ``ones``, they are a dimension or a sum.

>>> from matcalc.matrix import build as B
>>> from matcalc.ir import Symbol
>>> ones_inner.apply(B.matmul(B.ones(("m",)), B.ones(("m",))), None)
Symbol(shape=(), name='m', props=frozenset())
"""

from __future__ import annotations

from .. import build as B
from .common import rule


@rule("ones-inner", "1 · 1 = n; 1 · v = v · 1 = Σ_i v_i (vectors, with @)", ["matmul"])
def ones_inner(e, ctx):
    x, y = e.args
    if not (x.rank == 1 and y.rank == 1):
        return None
    if B.is_ones(x) and B.is_ones(y):
        return B.dim_scalar(x.shape[0])
    if B.is_ones(x) or B.is_ones(y):
        return B.sum_(y if B.is_ones(x) else x)
    return None


RULES = (ones_inner,)
