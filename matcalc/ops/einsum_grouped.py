"""``reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))``: an einsum of three or
four output letters, reshaped (row-major, as numpy) to a vector or a matrix at once.

The language has vectors and matrices only, so an einsum with more than two output
letters is allowed only as the direct argument of such a reshape; the parser fuses the
two calls into this one node (``FUSE`` below), which prints back as the two calls, and
no IR node ever has more than two axes.  The reshape groups whole letters: the rows run
over a leading run of the output letters (``ji`` above: row ``i + n j``), the columns
over the rest; it is the form a 4-index derivative takes in the vec convention when a
term has no Kronecker reading (:mod:`matcalc.matrix.kronecker`).

Index notation has no arithmetic on indices, so a grouped axis is split by 0/1
selection matrices, ``P_t[r, l] = 1`` iff letter ``l`` is digit ``t`` of ``r`` in the
mixed radix of the group's sizes (``kron(eye(k), ones((n, 1)))`` for ``j``,
``kron(ones((k, 1)), eye(n))`` for ``i``)::

    E_rc = Σ_jiqp P_j[r, j] P_i[r, i] P_q[c, q] P_p[c, p] einsum(...)_jiqp

and the VJP of operand ``t`` is a plain einsum with the adjoint ``G`` split the same way:
``Ā_t = einsum('rc,rj,ri,cq,cp,ip,iq->ij', G, P_j, P_i, P_q, P_p, X, S)`` (for ``S``, first).
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..index import nodes as I
from ..matrix import build as B
from ..matrix.kronecker import selector
from ..registry import CALLABLE, FUSE, OPS, WIDE, Op, register
from ..shapes import ShapeMismatch, same_size, shape_size, show
from . import array_api
from .einsum import parse_spec
from .shape import SHAPE, _reshape_fields

NAME = "einsum_grouped"
SPEC, ROWS = "spec", "rows"


def letter_sizes(spec: str, shapes) -> dict[str, object]:
    terms, _ = parse_spec(spec)
    return {c: d for t, s in zip(terms, shapes) for c, d in zip(t, s)}


def groups(node) -> list[str]:
    """The output letters of each axis of the result: ``['ji', 'qp']``."""
    out = parse_spec(node.attr(SPEC))[1]
    rows = node.attr(ROWS)
    return [out] if node.rank == 1 else [out[:rows], out[rows:]]


def _rows(out: str, size: dict, target) -> int:
    """How many leading output letters the rows of ``target`` run over (all for a vector)."""
    if len(target) == 1:
        return len(out)
    for c in range(1, len(out)):
        if same_size(tuple(size[x] for x in out[:c]), target[:1]) and \
                same_size(tuple(size[x] for x in out[c:]), target[1:]):
            return c
    raise ShapeMismatch(f"reshape of einsum(...->{out}) to {show(target)} does not group whole letters",
                        f"the rows run over the first letters, the columns over the rest: e.g. "
                        f"({shape_size(tuple(size[x] for x in out[:2]))}, {shape_size(tuple(size[x] for x in out[2:]))}) "
                        f"for '{out}'")


def _normalize(shapes, attrs):
    spec = str(attrs.get(SPEC, "")).replace(" ", "")
    target = attrs.get(SHAPE)
    _, out = parse_spec(spec)
    if not isinstance(target, tuple) or len(target) not in (1, 2):
        raise ShapeMismatch("an einsum of more than two output letters is reshaped to a vector or a matrix",
                            "write reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))")
    size = letter_sizes(spec, shapes)
    if not set(out) <= set(size):
        raise ShapeMismatch(f"einsum output letters {out!r} must each appear in an operand")
    letters = tuple(size[c] for c in out)
    if not same_size(letters, target):
        raise ShapeMismatch(f"reshape cannot make {show(target)} of einsum(...->{out}) {show(letters)}: "
                            "the sizes differ", f"the new shape must hold {shape_size(letters)} entries")
    rows = _rows(out, size, target)
    cut = [out] if len(target) == 1 else [out[:rows], out[rows:]]      # each axis as the letters' product
    return {SPEC: spec, SHAPE: tuple(shape_size(tuple(size[c] for c in g)) for g in cut), ROWS: rows}


def _shape(shapes, attrs):
    terms, out = parse_spec(attrs[SPEC])
    if len(terms) != len(shapes):
        raise ShapeMismatch(f"einsum subscripts {attrs[SPEC]!r} name {len(terms)} operands, got {len(shapes)}")
    size: dict[str, object] = {}
    for t, s in zip(terms, shapes):
        if len(t) != len(s):
            raise ShapeMismatch(f"einsum subscripts {t!r} do not fit an operand of shape {show(s)}")
        for c, d in zip(t, s):
            if size.setdefault(c, d) != d:
                raise ShapeMismatch(f"einsum letter {c!r} is {size[c]} in one operand and {d} in another")
    if not 3 <= len(out) <= 4:
        raise ShapeMismatch(f"reshape(einsum(...)) is for 3 or 4 output letters, not {len(out)}",
                            "write einsum(...) alone for one or two")
    return tuple(attrs[SHAPE])       # checked against the letters' sizes by _normalize


def grouped(a, rows: int):
    """``a`` row-major as a vector (its every axis grouped) or a matrix whose rows run
    over its first ``rows`` axes."""
    if rows >= a.ndim:
        return a.reshape(-1)
    return a.reshape(int(np.prod(a.shape[:rows], dtype=int)), -1)


def einsum_grouped(*arrays, spec, shape=None, rows):
    return grouped(np.einsum(spec, *arrays), rows)


GROUPED_SOURCE = '''def _grouped(a, rows):
    """a row-major as a vector (rows = a.ndim) or a matrix whose rows run over its first rows axes."""
    if rows >= a.ndim:
        return a.reshape(-1)
    return a.reshape(int(np.prod(a.shape[:rows], dtype=int)), -1)'''

array_api.HELPERS["_grouped"] = '''def _grouped(xp, a, rows):
    """a row-major as a vector (rows = a.ndim) or a matrix whose rows run over its first rows axes."""
    if rows >= a.ndim:
        return xp.reshape(a, (-1,))
    n = 1
    for d in a.shape[:rows]:
        n *= int(d)
    return xp.reshape(a, (n, -1))'''


def _split(node) -> list[tuple[int, str, ir.Expr | None]]:
    """Per output letter: the result axis it is on, the letter, and its selection matrix
    (None when it is alone on its axis: the axis is the letter)."""
    size = letter_sizes(node.attr(SPEC), [a.shape for a in node.args])
    out = []
    for axis, group in enumerate(groups(node)):
        sizes = tuple(size[c] for c in group)
        for t, c in enumerate(group):
            out.append((axis, c, None if len(group) == 1 else selector(sizes, t)))
    return out


def _index(node, args, idx, pool):
    """``E_rc = Σ P_j[r, j] P_i[r, i] ... Π operands`` (the selections split each axis)."""
    terms, _ = parse_spec(node.attr(SPEC))
    at, factors = {}, []
    for axis, c, sel in _split(node):
        if sel is None:
            at[c] = idx[axis]
        else:
            at[c] = pool.fresh(sel.shape[1])
            factors.append(I.Opaque(sel, (idx[axis], at[c]), "P"))
    for t, a in zip(terms, node.args):
        for c, d in zip(t, a.shape):
            if c not in at:
                at[c] = pool.fresh(d)
    direct = {c for _, c, sel in _split(node) if sel is None}
    body: I.IExpr = I.Mul(tuple(factors) + tuple(f(tuple(at[c] for c in t)) for f, t in zip(args, terms)))
    for c in reversed([c for c in at if c not in direct]):
        body = I.Sum(at[c], body)
    return body


def _vjp(g, node):
    """``Ā_t = einsum('rc,rj,ri,cq,cp,<others>-><t>', G, P_j, P_i, P_q, P_p, others...)``."""
    terms, out = parse_spec(node.attr(SPEC))
    size = letter_sizes(node.attr(SPEC), [a.shape for a in node.args])
    free = [x for x in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if x not in size]
    axis_letter = {}
    subs, operands = [], []
    for axis, c, sel in _split(node):
        if sel is None:
            axis_letter[axis] = c
        else:
            axis_letter.setdefault(axis, free[axis])
            subs.append(free[axis] + c)
            operands.append(sel)
    head = "".join(axis_letter[a] for a in range(node.rank))
    grads = []
    for n, (t, a) in enumerate(zip(terms, node.args)):
        others = [(s, b) for m, (s, b) in enumerate(zip(terms, node.args)) if m != n]
        have = set(out).union(*(set(s) for s, _ in others))
        extra = [(c, B.ones((size[c],))) for c in t if c not in have]
        spec = ",".join([head] + subs + [s for s, _ in others] + [c for c, _ in extra]) + "->" + t
        grads.append(B.call("einsum", g, *operands, *[b for _, b in others], *[o for _, o in extra], spec=spec))
    return tuple(grads)


def spell(node, parts, style="text") -> str:
    """``reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))`` in the language, the
    terminal or LaTeX."""
    shape = _reshape_fields(node, "latex" if style == "latex" else "text")[SHAPE]
    if style == "latex":
        spec = node.attr(SPEC).replace("->", "}\\to\\texttt{")
        inner = f"\\operatorname{{einsum}}_{{\\texttt{{{spec}}}}}\\left({', '.join(parts)}\\right)"
        return f"\\operatorname{{reshape}}\\left({inner}, {shape}\\right)"
    return f"reshape(einsum({node.attr(SPEC)!r}, {', '.join(parts)}), {shape})"


def fuse(node):
    """``reshape(E, s)`` of an einsum ``E`` of 3 or 4 output letters → one node; None otherwise."""
    inner = node.args[0]
    if not (isinstance(inner, ir.Apply) and inner.op == "einsum" and inner.rank > 2) or node.rank > 2:
        return None
    return ir.apply(NAME, inner.args, {SPEC: inner.attr(SPEC), SHAPE: tuple(node.attr(SHAPE))}, span=node.span)


def _count(attrs) -> int:
    """How many operands the subscripts name (none without subscripts)."""
    return len(parse_spec(attrs[SPEC])[0]) if SPEC in attrs else 0


register(Op(NAME, "call", -1, _shape, params=(SPEC, SHAPE, ROWS),
            numpy="_grouped(np.einsum({spec}, {args}, optimize=True), {rows})",
            array_api="_grouped(xp, xp.einsum({spec}, {args}), {rows})",
            doc="an einsum of 3 or 4 output letters reshaped at once: "
                "reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m))",
            normalize=_normalize, vjp=_vjp, fn=einsum_grouped, index=_index, spell=spell,
            helpers={"_grouped": GROUPED_SOURCE}, arity_of=_count,
            samples={SPEC: ("ij,ik->jik", "ij,kl->ijkl", "ij,ik,il->jilk", "ij,jk->ijk"),
                     SHAPE: (("m*n", "n"), ("n", "m*n"), ("n*n", "m*n"), ("m*n*n",), ("n*n", "n*n"),
                             ("m*n", "m*n"), ("n*n", "m"), ("n", "n*m"),
                             ("n",), ("n", "n"), (1, "n"), ("m", "n")), ROWS: (None,)}))
del CALLABLE[OPS[NAME].written]      # written only as reshape(einsum(...), shape): the parser fuses
FUSE["reshape"] = fuse
WIDE["einsum"] = (("an einsum with more than two output letters is allowed only as the direct argument "
                   "of a reshape to a vector or a matrix"),
                  "write reshape(einsum('ij,ip,iq->jiqp', S, X, S), (k*n, k*m)): rows over j, i, columns over q, p")
