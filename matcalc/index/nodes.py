"""The index-level node kinds (closed: operations never add new ones).

>>> i, j, k = Index("i", "n"), Index("j", "m"), Index("k", "p")
>>> show(Sum(j, Mul((Entry("X", (i, j)), Entry("W", (j, k))))))
'Σ_j X_ij W_jk'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..shapes import Dim


@dataclass(frozen=True)
class Index:
    name: str
    dim: Dim


UNIT = Index("1", 1)   # the index of a size-1 axis ([n, 1] matrices)


class IExpr:
    """Base of index-level expressions."""


@dataclass(frozen=True)
class Num(IExpr):
    value: Fraction | float


@dataclass(frozen=True)
class Entry(IExpr):
    """``X_ij``: an entry of a symbol (or a scalar symbol / dimension with no indices)."""

    name: str
    indices: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Opaque(IExpr):
    """An entry of an operation with no index form: ``(X⁻¹)_ij``, ``det X``."""

    expr: Any                # the matrix IR node
    indices: tuple[Index, ...] = ()
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Delta(IExpr):
    i: Index
    j: Index


@dataclass(frozen=True)
class Sum(IExpr):
    index: Index
    body: IExpr


@dataclass(frozen=True)
class Add(IExpr):
    terms: tuple[IExpr, ...]


@dataclass(frozen=True)
class Mul(IExpr):
    factors: tuple[IExpr, ...]


@dataclass(frozen=True)
class Pow(IExpr):
    base: IExpr
    exp: IExpr


@dataclass(frozen=True)
class Func(IExpr):
    name: str
    arg: IExpr


def print_order(f: IExpr) -> int:
    """Factors as a person writes them: numbers, then scalars, then entries."""
    if isinstance(f, Num):
        return 0
    if isinstance(f, Entry) and not f.indices:
        return 1
    return 2


def neg(e: IExpr) -> IExpr:
    return Mul((Num(Fraction(-1)), e))


def inverse(e: IExpr) -> IExpr:
    return Pow(e, Num(Fraction(-1)))


# -- printing (unicode, for the terminal) ------------------------------------

def _subscript(indices: tuple[Index, ...]) -> str:
    names = [ix.name for ix in indices]
    return "_" + "".join(names) if all(len(n) == 1 for n in names) else "_{" + ",".join(names) + "}"


def show(e: IExpr) -> str:
    return _show(e, 0)


def _show(e: IExpr, need: int) -> str:
    # strengths: 0 add, 1 mul, 2 pow/atom
    if isinstance(e, Num):
        v = e.value
        text = str(v) if not isinstance(v, Fraction) or v.denominator != 1 else str(v.numerator)
        return f"({text})" if need > 0 and (str(text).startswith("-") or "/" in text) else text
    if isinstance(e, Entry):
        return e.name + (_subscript(e.indices) if e.indices else "")
    if isinstance(e, Opaque):
        label = e.label or "?"
        return (f"({label})" + _subscript(e.indices)) if e.indices else label
    if isinstance(e, Delta):
        return "δ" + _subscript((e.i, e.j))
    if isinstance(e, Sum):
        text = f"Σ_{e.index.name} {_show(e.body, 1)}"
        return f"({text})" if need > 1 else text
    if isinstance(e, Add):
        parts = []
        for t in e.terms:
            s = _show(t, 0)
            parts.append(("- " + s[1:]) if s.startswith("-") and parts else (("+ " if parts else "") + s))
        text = " ".join(parts)
        return f"({text})" if need > 0 else text
    if isinstance(e, Mul):
        factors = list(e.factors)
        sign = ""
        if factors and isinstance(factors[0], Num) and factors[0].value == -1:
            sign, factors = "-", factors[1:]
        text = sign + " ".join(_show(f, 1) for f in factors)
        return f"({text})" if need > 1 else text
    if isinstance(e, Pow):
        if isinstance(e.exp, Num) and e.exp.value == -1:
            return f"1/{_show(e.base, 2)}"
        return f"{_show(e.base, 2)}^{_show(e.exp, 2)}"
    if isinstance(e, Func):
        return f"{e.name}({_show(e.arg, 0)})"
    raise TypeError(type(e))
