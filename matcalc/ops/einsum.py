"""``einsum('ij,jk->ik', A, B)``: numpy's einsum, explicit ``->`` form.

The form a derivative takes when a term has no matrix reading
(:mod:`matcalc.matrix.recognize`), and an operation of the language.  Each
operand's subscripts are distinct letters (``'ii->i'`` is ``diag``, written so);
every output letter appears in an operand.  Its index definition is the
product of the operands with the letters missing from the output summed::

    einsum('ik,jk->ij', A, B)_ij = Σ_k A_ik B_jk

and its VJP is an einsum again: the adjoint of operand ``t`` puts the output
adjoint ``G`` in the place of ``t``, ``Ā = einsum('ij,jk->ik', G, B)``.  Three or four
output letters only as the argument of a reshape to a vector or a matrix, which the
parser fuses into one node (:mod:`.einsum_grouped`).
"""

from __future__ import annotations

import numpy as np

from ..index import nodes as I
from ..matrix import build as B
from ..shapes import ShapeMismatch, show
from . import Op, register

PARAM = "spec"


def parse_spec(spec) -> tuple[list[str], str]:
    """``'ij,jk->ik'`` → ``(['ij', 'jk'], 'ik')``; raises :class:`ShapeMismatch` when malformed."""
    if not isinstance(spec, str) or spec.count("->") != 1:
        raise ShapeMismatch(f"einsum needs subscripts in the explicit form 'ij,jk->ik', not {spec!r}")
    left, out = spec.replace(" ", "").split("->")
    terms = left.split(",")
    for t in terms + [out]:
        if not all(c.isascii() and c.isalpha() for c in t):
            raise ShapeMismatch(f"einsum subscripts are letters, not {t!r}")
        if len(set(t)) != len(t):
            raise ShapeMismatch(f"einsum subscripts {t!r} repeat a letter",
                                "write a diagonal with diag, e.g. diag(A) for einsum('ii->i', A)")
    if not set(out) <= set("".join(terms)):
        raise ShapeMismatch(f"einsum output letters {out!r} must each appear in an operand")
    return terms, out


def _shape(shapes, attrs):
    terms, out = parse_spec(attrs.get(PARAM))
    if len(terms) != len(shapes):
        raise ShapeMismatch(f"einsum subscripts {attrs[PARAM]!r} name {len(terms)} operand"
                            f"{'s' if len(terms) != 1 else ''}, got {len(shapes)}")
    size: dict[str, object] = {}
    for t, s in zip(terms, shapes):
        if len(t) != len(s):
            raise ShapeMismatch(f"einsum subscripts {t!r} do not fit an operand of shape {show(s)}")
        for c, d in zip(t, s):
            if size.setdefault(c, d) != d:
                raise ShapeMismatch(f"einsum letter {c!r} is {size[c]} in one operand and {d} in another")
    if len(out) > 4:     # 3 or 4 only reshaped at once to a vector or a matrix (ops/einsum_grouped.py)
        raise ShapeMismatch("einsum results of more than four axes are not part of the language")
    return tuple(size[c] for c in out)


def _normalize(shapes, attrs):
    if PARAM not in attrs:
        raise ShapeMismatch("einsum needs its subscripts first, e.g. einsum('ij,jk->ik', A, B)")
    return {PARAM: str(attrs[PARAM]).replace(" ", "")}


def _index(node, args, idx, pool):
    """``einsum('ik,jk->ij', A, B)_ij = Σ_k A_ik B_jk``."""
    terms, out = parse_spec(node.attr(PARAM))
    at = dict(zip(out, idx))
    for t, a in zip(terms, node.args):
        for c, d in zip(t, a.shape):
            if c not in at:
                at[c] = pool.fresh(d)
    body: I.IExpr = I.Mul(tuple(f(tuple(at[c] for c in t)) for f, t in zip(args, terms)))
    for c in reversed([c for c in at if c not in out]):
        body = I.Sum(at[c], body)
    return body


def _vjp(g, node):
    """``Ā_t = einsum('<out>,<others>-><t>', G, others...)``; a letter of operand t
    that nothing else carries is broadcast with a ``ones`` operand."""
    terms, out = parse_spec(node.attr(PARAM))
    size = {c: d for t, a in zip(terms, node.args) for c, d in zip(t, a.shape)}
    grads = []
    for n, (t, a) in enumerate(zip(terms, node.args)):
        others = [(s, b) for m, (s, b) in enumerate(zip(terms, node.args)) if m != n]
        have = set(out).union(*(set(s) for s, _ in others))
        extra = [(c, B.ones((size[c],))) for c in t if c not in have]
        subs = [out] + [s for s, _ in others] + [c for c, _ in extra]
        operands = [g] + [b for _, b in others] + [o for _, o in extra]
        grads.append(B.call("einsum", *operands, spec=",".join(subs) + "->" + t))
    return tuple(grads)


def einsum(*arrays, spec):
    return np.einsum(spec, *arrays)


def operand_count(attrs) -> int:
    """How many operands the subscripts name (einsum's arity depends on them)."""
    return len(parse_spec(attrs[PARAM])[0])


# Subscripts the registry-parametrized tests apply einsum with: a matmul, a
# vector-matrix product, a row-wise inner product, a transpose, an outer product,
# a weighted product of three, a full contraction, a broadcast.
SAMPLES = ("ij,jk->ik", "i,ij->j", "ij,ij->i", "ij->ji", "i,j->ij", "ik,k,jk->ij", "ij,ij->", "i,j->j")


def einsum_text(node) -> str:
    """The subscripts as the language writes them, quoted: ``'ij,jk->ik'``."""
    return repr(node.attr(PARAM))


register(Op("einsum", "call", -1, _shape, params=(PARAM,), numpy="np.einsum({spec}, {args})",
            latex="\\operatorname{{einsum}}_{{\\texttt{{{spec}}}}}\\left({args}\\right)",
            doc="numpy's einsum, explicit form: einsum('ij,jk->ik', A, B); 3 or 4 output letters "
                "reshaped at once: reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))", normalize=_normalize,
            vjp=_vjp, fn=einsum, index=_index, leading_string=einsum_text,
            samples={PARAM: SAMPLES}, arity_of=operand_count,
            array_api="xp.einsum({spec}, {args})"))
