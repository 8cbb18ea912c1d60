"""The expr.yaml keys of issue 14 read by :mod:`matcalc.spec`: ``let`` (named
intermediates) and dimensions written as products and sums (``[p*r, n+1]``).

Kept apart from spec.py, which checks the keys every document has.
"""

from __future__ import annotations

from . import dimexpr
from .errors import SpecError
from .shapes import Dim
from .yamlsource import Node, Source


def declared_dim(source: Source, node: Node, dims: dict[str, int], what: str) -> Dim:
    """A shape entry written as a dimension expression (``p*r``, ``n+1``, ``2*n``),
    canonical (:func:`matcalc.dimexpr.declared`); an error with a caret on the bad part."""
    text = node.value
    try:
        dim = dimexpr.declared(text, dims)
    except dimexpr.DimSyntax as bad:
        locate = source.expr_locator(node, text, what=what)
        raise SpecError(bad.message, location=locate(bad.start, max(bad.end, bad.start + 1)),
                        hint=bad.hint) from None
    if isinstance(dim, int) and dim > 100_000:
        raise SpecError(f"the dimension {text!r} is {dim:,}; at most 100,000", location=source.at(node, what))
    return dim
