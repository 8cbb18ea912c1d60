"""Arithmetic: ``A + B``, ``A - B``, ``A * B``, ``A / B``, ``-A``, ``A ** p``,
``A @ B`` and ``A.T``.

Elementwise operators broadcast like numpy: ``X + y`` with ``X: [n, m]`` and
``y: [m]`` adds ``y`` to every row (``B_ij = X_ij + y_j``).
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..index import nodes as I
from ..index.lower import broadcast_indices
from ..matrix import build as B
from ..shapes import ShapeMismatch, broadcast, matmul, show
from ..registry import PREC_ADD, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW, Op, register
from . import mp


def _ew(combine):
    """Index rule of a broadcasting binary operator: entries at right-aligned indices."""
    def rule(node, args, idx, pool):
        a, b = node.args
        return combine(args[0](broadcast_indices(a.shape, idx)), args[1](broadcast_indices(b.shape, idx)))
    return rule


def _index_matmul(node, args, idx, pool):
    """(AB)_ik = Σ_j A_ij B_jk, and the vector cases."""
    a, b = node.args
    j = pool.fresh(a.shape[-1])
    left = args[0]((idx[0], j) if a.rank == 2 else (j,))
    right = args[1]((j, idx[-1]) if b.rank == 2 else (j,))
    return I.Sum(j, I.Mul((left, right)))


def _index_transpose(node, args, idx, pool):
    return args[0](tuple(reversed(idx)))


def _unbroadcast(node, *contributions):
    """Elementwise rules give adjoints at the output's shape; sum them back
    over the axes each argument was broadcast along."""
    return tuple(None if c is None else B.unbroadcast(c, a.shape)
                 for c, a in zip(contributions, node.args))


def _vjp_matmul(g, node):
    """C = A @ B:  G : dC = (G B^T) : dA + (A^T G) : dB, by the ranks involved."""
    a, b = node.args
    if a.rank == 2 and b.rank == 2:
        return B.matmul(g, B.T(b)), B.matmul(B.T(a), g)
    if a.rank == 2:      # matrix @ vector
        return B.outer(g, b), B.matmul(B.T(a), g)
    if b.rank == 2:      # vector @ matrix = B^T a
        return B.matmul(b, g), B.outer(a, g)
    return B.mul(g, b), B.mul(g, a)   # inner product


def _pow_domain(node):
    """A non-integer or symbolic exponent needs a positive base (and so does
    differentiating w.r.t. the exponent, which brings in log(A))."""
    p = node.args[1]
    integer = isinstance(p, ir.Number) and float(p.value).is_integer()
    return (None if integer else "positive", None)


def _vjp_pow(g, node):
    a, p = node.args
    da = B.mul(g, B.mul(p, B.power(a, B.sub(p, B.ONE))))
    dp = B.mul(g, B.mul(node, B.call("log", a)))
    return _unbroadcast(node, da, dp)


def _broadcast(shapes, attrs):
    return broadcast(shapes[0], shapes[1])


def _same(shapes, attrs):
    return shapes[0]


def _pow(shapes, attrs):
    if shapes[1] != ():
        raise ShapeMismatch(f"the exponent must be a scalar, not {show(shapes[1])}",
                            "write exp(log(A) * B) for an elementwise power with a matrix exponent")
    return shapes[0]


def _transpose(shapes, attrs):
    s = shapes[0]
    return tuple(reversed(s))


ADD = register(Op("add", "infix", 2, _broadcast, fn=np.add, keeps_nonnegative=True, spelling="+", precedence=PREC_ADD,
                  numpy="{0} + {1}", latex="{0} + {1}", doc="elementwise sum",
                  vjp=lambda g, node: _unbroadcast(node, g, g),
                  index=_ew(lambda a, b: I.Add((a, b)))))
SUB = register(Op("sub", "infix", 2, _broadcast, fn=np.subtract, spelling="-", precedence=PREC_ADD,
                  numpy="{0} - {1}", latex="{0} - {1}", doc="elementwise difference",
                  vjp=lambda g, node: _unbroadcast(node, g, B.neg(g)),
                  index=_ew(lambda a, b: I.Add((a, I.neg(b))))))
MUL = register(Op("mul", "infix", 2, _broadcast, fn=np.multiply, keeps_nonnegative=True, spelling="*", precedence=PREC_MUL,
                  numpy="{0} * {1}", latex="{0} \\odot {1}", doc="elementwise (Hadamard) product",
                  vjp=lambda g, node: _unbroadcast(node, B.mul(g, node.args[1]), B.mul(g, node.args[0])),
                  index=_ew(lambda a, b: I.Mul((a, b)))))
DIV = register(Op("div", "infix", 2, _broadcast, fn=np.divide, mp=mp.divide, keeps_nonnegative=True, spelling="/", precedence=PREC_MUL,
                  numpy="{0} / {1}", latex="{0} \\oslash {1}", domain=(None, "nonzero"),
                  doc="elementwise quotient",
                  vjp=lambda g, node: _unbroadcast(
                      node, B.div(g, node.args[1]),
                      B.neg(B.div(B.mul(g, node.args[0]), B.power(node.args[1], B.num(2))))),
                  index=_ew(lambda a, b: I.Mul((a, I.inverse(b))))))
MATMUL = register(Op("matmul", "infix", 2, lambda s, a: matmul(s[0], s[1]), fn=np.matmul, spelling="@",
                     precedence=PREC_MUL, numpy="{0} @ {1}", latex="{0} {1}",
                     doc="matrix product", vjp=_vjp_matmul, index=_index_matmul,
                     letter="Z"))
POW = register(Op("pow", "infix", 2, _pow, fn=np.power, mp=mp.power, domain=_pow_domain, spelling="**", precedence=PREC_POW,
                  numpy="{0} ** {1}", latex="{0:atom}^{{{1}}}", binds="pow", doc="elementwise power",
                  vjp=_vjp_pow, index=_ew(lambda a, p: I.Pow(a, p))))
NEG = register(Op("neg", "prefix", 1, _same, fn=np.negative, spelling="-", precedence=PREC_NEG,
                  numpy="-{0}", latex="-{0}", doc="negation",
                  vjp=lambda g, node: (B.neg(g),), index=lambda node, args, idx, pool: I.neg(args[0](idx))))
TRANSPOSE = register(Op("transpose", "postfix", 1, _transpose, fn=np.transpose, keeps_nonnegative=True, spelling=".T",
                        precedence=PREC_POSTFIX, numpy="{0}.T", latex="{0:T}", binds="pow",
                        doc="transpose (a [n] vector stays a [n] vector, as in numpy)",
                        vjp=lambda g, node: (B.T(g),), index=_index_transpose))
