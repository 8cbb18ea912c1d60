"""Linear algebra: ``det logdet inv diag outer dot kron``.

``inv``, ``det`` and ``logdet`` are opaque in index notation and carry their
own derivatives; the rest are multilinear.
"""

from __future__ import annotations

from ..shapes import ShapeMismatch, dim_product, is_square, matmul, show
from . import Op, register


def _square(name):
    def rule(shapes, attrs):
        s = shapes[0]
        if not is_square(s):
            what = "a scalar" if not s else show(s)
            hint = None
            if len(s) == 2:
                hint = f"{name}(A.T @ A) or {name}(A @ A.T) is square"
            raise ShapeMismatch(f"{name} needs a square matrix, not {what}", hint)
        return () if name in ("det", "logdet") else s
    return rule


def _diag(shapes, attrs):
    s = shapes[0]
    if len(s) == 1:
        return (s[0], s[0])
    if len(s) == 2:
        if s[0] != s[1]:
            raise ShapeMismatch(f"diag of a matrix needs a square matrix, not {show(s)}")
        return (s[0],)
    raise ShapeMismatch("diag needs a vector (to make a diagonal matrix) or a square matrix "
                        "(to take its diagonal), not a scalar")


def _outer(shapes, attrs):
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        raise ShapeMismatch(f"outer needs two vectors, not {show(a)} and {show(b)}",
                            "use @ for matrix products")
    return (a[0], b[0])


def _kron(shapes, attrs):
    a, b = shapes
    if not a or not b or len(a) != len(b):
        raise ShapeMismatch(f"kron needs two vectors or two matrices, not {show(a)} and {show(b)}")
    return tuple(dim_product(x, y) for x, y in zip(a, b))


register(Op("inv", "call", 1, _square("inv"), numpy="np.linalg.inv({0})", latex="{0}^{{-1}}",
            domain=("invertible",), doc="matrix inverse"))
register(Op("det", "call", 1, _square("det"), numpy="np.linalg.det({0})", latex="\\det({0})",
            domain=("invertible",), doc="determinant"))
register(Op("logdet", "call", 1, _square("logdet"), numpy="np.linalg.slogdet({0})[1]",
            latex="\\log\\det({0})", domain=("spd",), doc="log of the determinant"))
register(Op("diag", "call", 1, _diag, numpy="np.diag({0})", latex="\\operatorname{{diag}}({0})",
            doc="vector to diagonal matrix, or diagonal of a square matrix"))
register(Op("outer", "call", 2, _outer, numpy="np.outer({0}, {1})", latex="{0} {1}^T",
            doc="outer product of two vectors"))
register(Op("dot", "call", 2, lambda s, a: matmul(s[0], s[1]), numpy="np.dot({0}, {1})",
            latex="{0}^T {1}", doc="inner product (numpy's dot)"))
register(Op("kron", "call", 2, _kron, numpy="np.kron({0}, {1})", latex="{0} \\otimes {1}",
            doc="Kronecker product"))
