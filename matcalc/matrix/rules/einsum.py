"""An ``einsum`` read as matrix products where its contraction graph has a reading:
the recognizer's reader (:func:`..contraction.read_term`) applied to the operands,
so an einsum a VJP writes (``einsum(',ni,nj->ij', 1, X, Y)``) prints as a person
writes it (``X.T @ Y``), scalar operands taken outside.

>>> from matcalc.matrix import build as B
>>> from matcalc.ir import Symbol
>>> from matcalc.render.text import to_text
>>> X, Y = Symbol(("n", "m"), "X"), Symbol(("n", "k"), "Y")
>>> to_text(einsum_read.apply(B.call("einsum", B.ONE, X, Y, spec=",ni,nj->ij"), None))
'X.T @ Y'
"""

from __future__ import annotations

from ...index.lower import Pool
from ...ops.einsum import PARAM, parse_spec
from .. import build as B
from ..contraction import read_term
from .common import rule


@rule("einsum-read", "einsum of operands whose contraction has a matrix reading = that reading "
      "(einsum('ij,jk->ik', A, B) = A B; scalar operands outside)", ["einsum"], canonical=True)
def einsum_read(e, ctx):
    from ..recognize import einsum_of
    terms, out = parse_spec(e.attr(PARAM))
    if any(d == 1 for a in e.args for d in a.shape):
        return None                      # a size-1 axis: the reader's unit rules, not here
    pool, at = Pool(), {}
    for t, a in zip(terms, e.args):
        for c, d in zip(t, a.shape):
            if c not in at:
                at[c] = pool.fresh(d)
    factors = [(a, tuple(at[c] for c in t)) for t, a in zip(terms, e.args)]
    free = tuple(at[c] for c in out)
    summed = [ix for c, ix in at.items() if c not in out]
    reading, left = read_term(factors, summed, free)
    if reading is not None:
        return reading
    if all(a.rank for a in e.args):
        return None
    return einsum_of(left, free)
RULES = (einsum_read,)
