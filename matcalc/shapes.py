"""Shapes in dimension names: ``()`` scalar, ``("n",)`` vector, ``("n", "m")``
matrix.  A dimension is a name (``"n"``), a positive int, or a product of
those written canonically (``"m*n"``, from ``kron``).

The rules are numpy's, with names instead of numbers: two dimensions agree
when they are the same name or the same number; ``1`` broadcasts against
anything.

>>> broadcast(("n", "m"), ("m",))
('n', 'm')
>>> broadcast(("n", 1), (1, "m"))
('n', 'm')
>>> show(("n", "m"))
'[n, m]'
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

from . import dimexpr

Dim = str | int
Shape = tuple[Dim, ...]


class ShapeMismatch(Exception):
    """Raised by shape rules; the parser turns it into a located ShapeError."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def show(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def dim_product(a: Dim, b: Dim) -> Dim:
    """The dimension of a Kronecker product: ``dim_product("n", "m") == "m*n"``."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if _sum(a) or _sum(b):           # (n+1)*m: a polynomial (dimexpr.py)
        return dimexpr.product(a, b)
    if a == 1:
        return b
    if b == 1:
        return a
    factors: list[str] = []
    number = 1
    for d in (a, b):
        for f in str(d).split("*"):
            if f.isdigit():
                number *= int(f)
            else:
                factors.append(f)
    factors.sort()
    if number != 1:
        factors.insert(0, str(number))
    return "*".join(factors)


def dim_size(dim: Dim, sizes: Mapping[str, int]) -> int:
    """The number a dimension stands for, given the sizes of the names."""
    if isinstance(dim, int):
        return dim
    if _sum(dim):
        return dimexpr.size(dim, sizes)
    total = 1
    for f in dim.split("*"):
        total *= int(f) if f.isdigit() else sizes[f]
    return total


def dim_names(dim: Dim) -> list[str]:
    if isinstance(dim, int):
        return []
    if _sum(dim):
        return dimexpr.names(dim)
    return [f for f in dim.split("*") if not f.isdigit()]


def _sum(dim: Dim) -> bool:
    """Is ``dim`` a sum or difference (``n+1``), not a plain product?"""
    return isinstance(dim, str) and ("+" in dim or "-" in dim)


def broadcast(a: Shape, b: Shape) -> Shape:
    """numpy broadcasting of two shapes of at most two dimensions."""
    out: list[Dim] = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            hint = None
            if len(a) == 1 and len(b) == 2 and a[0] == b[0]:
                hint = (f"a [{a[0]}] vector broadcasts along the last axis (like numpy); "
                        f"to scale rows write diag(v) @ A")
            elif len(b) == 1 and len(a) == 2 and b[0] == a[0]:
                hint = (f"a [{b[0]}] vector broadcasts along the last axis (like numpy); "
                        f"to scale rows write diag(v) @ A")
            if size_value(da) is not None and size_value(da) == size_value(db):
                named = max((a, b), key=lambda s: sum(isinstance(d, str) for d in s))
                raise ShapeMismatch(
                    f"shapes {show(a)} and {show(b)} do not broadcast: {worth(da)} and {worth(db)} are equal "
                    "here, but shapes are compared by their dimension names",
                    f"declare the shape as {show(named)}, or reshape to it: reshape(..., "
                    f"({', '.join(map(str, named))}{',' if len(named) == 1 else ''}))")
            raise ShapeMismatch(
                f"shapes {show(a)} and {show(b)} do not broadcast: {worth(da)} and {worth(db)} differ",
                hint or _named(da, db))
    return tuple(reversed(out))


def _named(a: Dim, b: Dim) -> str | None:
    """The hint when a dimension written as names (``q*s``) meets a number (``6``)."""
    for x, y in ((a, b), (b, a)):
        if isinstance(x, str) and dimexpr.is_compound(x) and isinstance(y, int):
            return (f"{x} is a dimension of names and {y} a number: they are different dimensions, whatever "
                    f"the sizes; declare the shape with {x} (shapes may be written [p*r, q*s], [n+1])")
    return None


def is_square(shape: Shape) -> bool:
    return len(shape) == 2 and shape[0] == shape[1]


def matmul(a: Shape, b: Shape) -> Shape:
    """Shape of ``A @ B`` for matrices and vectors (numpy rules)."""
    if len(a) == 0 or len(b) == 0:
        raise ShapeMismatch("@ needs vectors or matrices, not scalars", "use * to scale by a scalar")
    inner_a = a[-1]
    inner_b = b[0]
    if inner_a != inner_b:
        hint = None
        if len(b) == 2 and b[1] == inner_a:
            hint = "did you mean to transpose the right operand (B.T)?"
        elif len(a) == 2 and a[0] == inner_b:
            hint = "did you mean to transpose the left operand (A.T)?"
        if hint is None and size_value(inner_a) is not None and size_value(inner_a) == size_value(inner_b):
            hint = (f"{worth(inner_a)} and {worth(inner_b)} are equal here, but shapes are compared by "
                    "name: declare the shapes with the same dimension names")
        raise ShapeMismatch(
            f"inner dimensions differ: {show(a)} @ {show(b)} pairs {worth(inner_a)} with {worth(inner_b)}",
            hint or _named(inner_a, inner_b))
    return tuple(a[:-1]) + tuple(b[1:])


def default_sizes():
    """3, 5, 7, 11, ...: distinct primes for dimensions given without a size, so that
    two dimensions mixed up show in the check; as many as there are names."""
    n = 3
    while True:
        if all(n % d for d in range(3, int(n ** 0.5) + 1, 2)):
            yield n
        n += 2


# -- dimension arithmetic and the sizes the parser knows (reshape, slicing) -----------

def dim_poly(dim: Dim) -> dict[tuple[str, ...], int]:
    """``"m*n-1"`` → ``{("m", "n"): 1, (): -1}``: a dimension as a polynomial in the names
    (:func:`matcalc.dimexpr.of`; a leading ``-``, as in the index ``x[-1]``, read too)."""
    return dimexpr.of("0" + dim if isinstance(dim, str) and dim.startswith("-") else dim)


def dim_text(poly: dict[tuple[str, ...], int]) -> Dim:
    """The canonical dimension of a polynomial (an int when it is a number): ``n-1``, ``m*n``."""
    return dimexpr.text(poly)


def dim_add(a: Dim, b: Dim, sign: int = 1) -> Dim:
    """``dim_add("n", 1, -1) == "n-1"``; ``dim_add("n-1", 1) == "n"``."""
    return dimexpr.text(dimexpr.add(dim_poly(a), dim_poly(b), sign))


# a stack, not a ContextVar: the engine's sympy budget runs passes in worker threads,
# which start with an empty context
_SIZES: list[Mapping[str, int] | None] = []


@contextmanager
def known_sizes(sizes: Mapping[str, int] | None):
    """While parsing and deriving, the sizes of the dimensions: ``reshape`` of ``[6, 4]``
    to ``(p, q)`` is checked with them, and a shape error says what a product is worth."""
    _SIZES.append(sizes)
    try:
        yield
    finally:
        _SIZES.pop()


def size_value(dims) -> int | None:
    """The number of entries of a shape (or the value of one dimension) where the parser
    knows the sizes, else None."""
    sizes = known() or {}
    total = 1
    for d in (dims if isinstance(dims, tuple) else (dims,)):
        try:
            total *= dim_size(d, sizes)
        except (KeyError, ValueError):
            return None
    return total


def shape_size(shape: Shape) -> Dim:
    """The number of entries as a dimension: ``shape_size(("n", "m")) == "m*n"``."""
    out: Dim = 1
    for d in shape:
        out = dim_product(out, d)
    return out


def same_size(a: Shape, b: Shape) -> bool:
    """Whether two shapes hold as many entries: as products of the same names, or by the
    sizes the parser knows (``[6, 4]`` and ``[p, q]`` with p*q = 24)."""
    if dim_poly(shape_size(a)) == dim_poly(shape_size(b)):
        return True
    left, right = size_value(a), size_value(b)
    return left is not None and left == right


def worth(dim: Dim) -> str:
    """``q*s`` as a message shows it: ``q*s (= 6)`` where the sizes are known."""
    value = size_value(dim)
    return str(dim) if isinstance(dim, int) or value is None or str(value) == str(dim) else f"{dim} (= {value})"


def known() -> Mapping[str, int] | None:
    """The sizes set by :func:`known_sizes`, if any."""
    return _SIZES[-1] if _SIZES else None
