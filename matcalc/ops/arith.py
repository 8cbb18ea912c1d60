"""Arithmetic: ``A + B``, ``A - B``, ``A * B``, ``A / B``, ``-A``, ``A ** p``,
``A @ B`` and ``A.T``.

Elementwise operators broadcast like numpy: ``X + y`` with ``X: [n, m]`` and
``y: [m]`` adds ``y`` to every row (``B_ij = X_ij + y_j``).
"""

from __future__ import annotations

from ..shapes import ShapeMismatch, broadcast, matmul, show
from . import PREC_ADD, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW, Op, register


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


ADD = register(Op("add", "infix", 2, _broadcast, spelling="+", precedence=PREC_ADD,
                  numpy="{0} + {1}", latex="{0} + {1}", doc="elementwise sum"))
SUB = register(Op("sub", "infix", 2, _broadcast, spelling="-", precedence=PREC_ADD,
                  numpy="{0} - {1}", latex="{0} - {1}", doc="elementwise difference"))
MUL = register(Op("mul", "infix", 2, _broadcast, spelling="*", precedence=PREC_MUL,
                  numpy="{0} * {1}", latex="{0} \\odot {1}", doc="elementwise (Hadamard) product"))
DIV = register(Op("div", "infix", 2, _broadcast, spelling="/", precedence=PREC_MUL,
                  numpy="{0} / {1}", latex="{0} \\oslash {1}", domain=(None, "nonzero"),
                  doc="elementwise quotient"))
MATMUL = register(Op("matmul", "infix", 2, lambda s, a: matmul(s[0], s[1]), spelling="@",
                     precedence=PREC_MUL, numpy="{0} @ {1}", latex="{0} {1}",
                     doc="matrix product"))
POW = register(Op("pow", "infix", 2, _pow, spelling="**", precedence=PREC_POW,
                  numpy="{0} ** {1}", latex="{0}^{{{1}}}", doc="elementwise power"))
NEG = register(Op("neg", "prefix", 1, _same, spelling="-", precedence=PREC_NEG,
                  numpy="-{0}", latex="-{0}", doc="negation"))
TRANSPOSE = register(Op("transpose", "postfix", 1, _transpose, spelling=".T",
                        precedence=PREC_POSTFIX, numpy="{0}.T", latex="{0}^T",
                        doc="transpose (a [n] vector stays a [n] vector, as in numpy)"))
