"""Smart constructors for matrix-form expressions.

They build IR through :func:`matcalc.ir.apply` (so shapes are checked) and do
the simplifications that are always right and always shorter: ``A + 0 -> A``,
``1 * A -> A``, ``(A.T).T -> A``, ``I @ A -> A``, ``--A -> A``, constant
folding.  Anything that needs judgement lives in :mod:`.simplify`.

>>> from matcalc.ir import Symbol
>>> A = Symbol(("n", "n"), "A")
>>> T(T(A)) == A
True
"""

from __future__ import annotations

from fractions import Fraction

from .. import ir
from ..shapes import Shape, broadcast, dim_poly

ZERO = ir.number(0)
ONE = ir.number(1)


def num(value) -> ir.Number:
    return ir.number(value)


def is_num(x: ir.Expr, value=None) -> bool:
    return isinstance(x, ir.Number) and (value is None or x.value == value)


def is_zero(x: ir.Expr | None) -> bool:
    return x is None or is_num(x, 0)


def is_zeros(x: ir.Expr) -> bool:
    """The zero matrix as the engine writes it: ``0 * ones(n, m)``."""
    return is_op(x, "mul") and any(is_num(a, 0) for a in x.args) and any(is_ones(a) for a in x.args)


def zeros(shape: Shape) -> ir.Expr:
    return ir.apply("mul", [ZERO, ones(shape)])


def is_op(x: ir.Expr, *ops: str) -> bool:
    return isinstance(x, ir.Apply) and x.op in ops


def is_zero_matrix(x: ir.Expr) -> bool:
    """A zero matrix or vector however written: ``0 * ones(n, m)`` or ``zeros(n, m)``."""
    return is_op(x, "zeros") or is_zeros(x)


def is_ones(x: ir.Expr) -> bool:
    return is_op(x, "ones")


def is_eye(x: ir.Expr) -> bool:
    return is_op(x, "eye")


def call(op: str, *args: ir.Expr, **attrs) -> ir.Expr:
    return ir.apply(op, args, attrs)


def ones(shape: Shape) -> ir.Expr:
    if not shape:
        return ONE
    return ir.apply("ones", (), {"dims": tuple(shape)})


def eye(dim) -> ir.Expr:
    return ir.apply("eye", (), {"dims": (dim,)})


def dim_scalar(dim) -> ir.Expr:
    """A dimension as a scalar expression: ``n``, ``3``, or ``m * n`` for a product."""
    if isinstance(dim, int):
        return num(dim)
    if "+" in str(dim) or "-" in str(dim):      # n+1, 2*n-1: a sum of monomials (dimexpr.py)
        return _dim_sum(dim)
    out: ir.Expr | None = None
    for factor in str(dim).split("*"):
        term = num(int(factor)) if factor.isdigit() else ir.Dim(shape=(), name=factor)
        out = term if out is None else mul(out, term)
    return out


def _dim_sum(dim) -> ir.Expr:
    """``n+1`` as the scalar expression ``n + 1``."""
    from .. import dimexpr

    out: ir.Expr | None = None
    for mono, c in sorted(dimexpr.of(dim).items(), key=lambda mc: (-len(mc[0]), mc[0])):
        term = num(abs(c)) if not mono else dim_scalar(dimexpr.text({mono: abs(c)}))
        out = term if out is None else (add(out, term) if c > 0 else sub(out, term))
        out = neg(out) if out is term and c < 0 else out
    return out


def neg(a: ir.Expr) -> ir.Expr:
    if isinstance(a, ir.Number):
        return num(-a.value)
    if is_op(a, "neg"):
        return a.args[0]
    return ir.apply("neg", (a,))


def add(a: ir.Expr | None, b: ir.Expr | None) -> ir.Expr | None:
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if isinstance(a, ir.Number) and isinstance(b, ir.Number):
        return num(a.value + b.value)
    if is_op(b, "neg"):
        return ir.apply("sub", (a, b.args[0]))
    return ir.apply("add", (a, b))


def sub(a: ir.Expr | None, b: ir.Expr | None) -> ir.Expr | None:
    if is_zero(b):
        return a
    if is_zero(a):
        return neg(b)
    if isinstance(a, ir.Number) and isinstance(b, ir.Number):
        return num(a.value - b.value)
    if is_op(b, "neg"):
        return ir.apply("add", (a, b.args[0]))
    return ir.apply("sub", (a, b))


def mul(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    """Elementwise product (with broadcasting).  ``0 * A`` is the scalar 0:
    a zero adjoint contributes nothing, whatever its shape."""
    if is_zero(a) or is_zero(b):
        return ZERO
    if isinstance(a, ir.Number) and isinstance(b, ir.Number):
        return num(a.value * b.value)
    if is_num(a, 1) or (is_ones(a) and broadcast(a.shape, b.shape) == b.shape):
        return b
    if is_num(b, 1) or (is_ones(b) and broadcast(a.shape, b.shape) == a.shape):
        return a
    if is_num(a, -1):
        return neg(b)
    if is_num(b, -1):
        return neg(a)
    if isinstance(b, ir.Number) and not isinstance(a, ir.Number):
        a, b = b, a   # numbers first: 2 * A
    return ir.apply("mul", (a, b))


def div(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if is_zero(a):
        return ZERO
    if is_num(b, 1):
        return a
    if isinstance(a, ir.Number) and isinstance(b, ir.Number) and b.value != 0:
        return num(Fraction(a.value) / Fraction(b.value)) if not isinstance(a.value, float) \
            and not isinstance(b.value, float) else num(a.value / b.value)
    return ir.apply("div", (a, b))


def power(a: ir.Expr, p: ir.Expr) -> ir.Expr:
    if is_num(p, 1):
        return a
    if is_num(p, 0):
        return ones(a.shape)
    return ir.apply("pow", (a, p))


def T(a: ir.Expr) -> ir.Expr:
    """Transpose, with the identities that need no judgement."""
    if a.rank < 2:
        return a
    if is_op(a, "transpose"):
        return a.args[0]
    if is_eye(a) or is_op(a, "diag"):
        return a
    if is_ones(a):
        return ones(tuple(reversed(a.shape)))
    if is_op(a, "outer"):
        return ir.apply("outer", (a.args[1], a.args[0]))
    if is_op(a, "neg"):
        return neg(T(a.args[0]))
    return ir.apply("transpose", (a,))


def matmul(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if is_zero(a) or is_zero(b):
        return ZERO
    if is_eye(a):
        return b
    if is_eye(b):
        return a
    return ir.apply("matmul", (a, b))


def matrix_factors(e: ir.Expr) -> list[ir.Expr]:
    """The factors of a product of matrices, left to right (a product with a vector
    is one factor); iterative, so a long product is fine: ``(A B) C`` → ``[A, B, C]``."""
    out: list[ir.Expr] = []
    stack = [e]
    while stack:
        f = stack.pop()
        if is_op(f, "matmul") and all(a.rank == 2 for a in f.args):
            stack.extend(reversed(f.args))
        else:
            out.append(f)
    return out


def outer(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if is_zero(a) or is_zero(b):
        return ZERO
    return ir.apply("outer", (a, b))


def sum_(a: ir.Expr, axis: int | None = None, keepdims: bool = False) -> ir.Expr:
    if is_zero(a):
        return ZERO
    if a.rank == 0:
        return a
    return ir.apply("sum", (a,), {"axis": axis, "keepdims": True} if keepdims else {"axis": axis})


def spread(g: ir.Expr, axis: int | None, shape: Shape) -> ir.Expr:
    """Undo a reduction: the [shape] matrix whose entries along ``axis`` repeat g.

    ``spread(g, 1, (n, m))`` is ``outer(g, ones(m))`` (``G_ij = g_i``);
    ``spread(g, 0, (n, m))`` is ``outer(ones(n), g)``; with ``axis=None`` a
    scalar g becomes ``g * ones(n, m)``.
    """
    if is_zero(g):
        return ZERO
    if axis is None or len(shape) == 1:
        return mul(g, ones(shape))
    if axis == 1:
        return outer(g, ones((shape[1],)))
    return outer(ones((shape[0],)), g)


def unbroadcast(g: ir.Expr, target: Shape) -> ir.Expr:
    """Sum the adjoint ``g`` over the axes along which ``target`` was broadcast.

    numpy aligns shapes on the right: a ``[m]`` vector added to a ``[n, m]``
    matrix is repeated along axis 0, so its adjoint is ``sum(g, axis=0)``.
    A ``[n, 1]`` matrix gets ``g @ ones(m, 1)``; a scalar gets ``sum(g)``.
    """
    if is_zero(g) or g.shape == target:
        return g
    if not target:
        return sum_(g)
    out = g
    # drop leading axes that target does not have
    while out.rank > len(target):
        out = sum_(out, 0) if out.rank == 2 else sum_(out)
    if out.rank < len(target):          # cannot happen for well-typed trees
        raise ValueError(f"cannot unbroadcast {out.shape} to {target}")
    if out.shape == target:
        return out
    if len(target) == 1:                # [k] from [k'] where target is [1]
        return matmul(ones((1, out.shape[0])), out) if out.shape[0] != 1 else out
    rows, cols = target
    if rows == 1 and out.shape[0] != 1:
        out = matmul(ones((1, out.shape[0])), out)
    if cols == 1 and out.shape[1] != 1:
        out = matmul(out, ones((out.shape[1], 1)))
    return out
