"""Dimensions written as products and sums of dimension names: ``p*r``, ``n+1``, ``2*n``.

A tiny grammar, read by hand (never ``eval``)::

    dim    := term (('+' | '-') term)*
    term   := factor ('*' factor)*
    factor := INT | NAME | '(' dim ')'

A dimension is kept as a polynomial in the names with integer coefficients and
written in one canonical text, so that two spellings of one size are one
dimension: products first by degree, each monomial its coefficient then its names
sorted (the text :func:`matcalc.shapes.dim_product` gives for ``kron``), the
constant last.

>>> canonical("r*p")
'p*r'
>>> canonical("(n + 1) * m")
'm*n+m'
>>> canonical("2*3")
6
>>> size("m*n+m", {"m": 2, "n": 3})
8
>>> names("2*n-1")
['n']
>>> code("m*n+m")
'(m * n + m)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

Monomial = tuple[str, ...]          # the names multiplied, sorted, with repeats: ("m", "n"), ("n", "n")
Poly = dict[Monomial, int]

MAX_TEXT = 200                      # characters in one dimension expression
MAX_DEPTH = 20                      # nested parentheses
_TOKEN = re.compile(r"\s*(?:(?P<int>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*()]))")


class DimSyntax(Exception):
    """A dimension expression that does not read: ``message`` for the columns
    ``start:end`` of the text, and a ``hint``."""

    def __init__(self, message: str, start: int, end: int, hint: str | None = None):
        super().__init__(message)
        self.message, self.start, self.end, self.hint = message, start, end, hint


def is_compound(dim) -> bool:
    """Is ``dim`` more than one name or number (``"m*n"``, ``"n+1"``)?"""
    return isinstance(dim, str) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dim)


def parse(text: str) -> Poly:
    """The polynomial ``text`` stands for; :class:`DimSyntax` where it does not read."""
    if len(text) > MAX_TEXT:
        raise DimSyntax(f"a dimension expression is at most {MAX_TEXT} characters", 0, len(text))
    tokens = _tokens(text)
    reader = _Reader(text, tokens)
    poly = reader.dim(0)
    if reader.at < len(tokens):
        _, value, start, end = tokens[reader.at]
        raise DimSyntax(f"unexpected {value!r} in the dimension {text!r}", start, end,
                        "a dimension is names and integers joined by *, + and -, e.g. p*r or n+1")
    return poly


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    out, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        m = _TOKEN.match(text, at)
        if m is None:
            start = len(text) - len(text[at:].lstrip())
            raise DimSyntax(f"{text[start]!r} cannot appear in a dimension", start, start + 1,
                            "a dimension is names and integers joined by *, + and -, e.g. p*r or n+1")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind), m.end()))
        at = m.end()
    return out


class _Reader:
    def __init__(self, text: str, tokens):
        self.text, self.tokens, self.at = text, tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) and self.tokens[self.at][0] == "op" else None

    def dim(self, depth: int) -> Poly:
        poly = self.term(depth)
        while self.peek() in ("+", "-"):
            sign = 1 if self.tokens[self.at][1] == "+" else -1
            self.at += 1
            poly = add(poly, self.term(depth), sign)
        return poly

    def term(self, depth: int) -> Poly:
        poly = self.factor(depth)
        while self.peek() == "*":
            self.at += 1
            poly = multiply(poly, self.factor(depth))
        return poly

    def factor(self, depth: int) -> Poly:
        if self.at >= len(self.tokens):
            end = len(self.text)
            raise DimSyntax(f"the dimension {self.text!r} ends too early", end, end + 1,
                            "finish it with a name or an integer")
        kind, value, start, end = self.tokens[self.at]
        self.at += 1
        if kind == "int":
            return {(): int(value)} if int(value) else {}
        if kind == "name":
            return {(value,): 1}
        if value == "(":
            if depth >= MAX_DEPTH:
                raise DimSyntax(f"parentheses nested more than {MAX_DEPTH} deep", start, end)
            inner = self.dim(depth + 1)
            if self.peek() != ")":
                raise DimSyntax("'(' is not closed", start, end, "add the missing ')'")
            self.at += 1
            return inner
        raise DimSyntax(f"unexpected {value!r} in the dimension {self.text!r}", start, end,
                        "a dimension is names and integers joined by *, + and -, e.g. p*r or n+1")


def add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for mono, c in b.items():
        out[mono] = out.get(mono, 0) + sign * c
    return {m: c for m, c in out.items() if c}


def multiply(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            mono = tuple(sorted(ma + mb))
            out[mono] = out.get(mono, 0) + ca * cb
    return {m: c for m, c in out.items() if c}


def of(dim) -> Poly:
    """The polynomial of a dimension as shapes hold it (an int, a name, or canonical text)."""
    if isinstance(dim, int):
        return {(): dim} if dim else {}
    return parse(str(dim))


def text(poly: Poly):
    """The canonical dimension of ``poly``: an int for a constant, else its text."""
    if set(poly) <= {()}:
        return poly.get((), 0)
    ordered = sorted(poly.items(), key=lambda mc: (-len(mc[0]), mc[0]))
    out = ""
    for mono, c in ordered:
        magnitude = abs(c)
        body = "*".join(([str(magnitude)] if magnitude != 1 or not mono else []) + list(mono))
        out += ("-" if c < 0 else "+" if out else "") + body
    return out


def canonical(dim):
    """``dim`` (an int or text) written canonically: ``"r*p"`` is ``"p*r"``, ``"2*3"`` is 6."""
    return text(of(dim))


def product(a, b):
    """The dimension ``a * b`` (of a Kronecker product), canonical."""
    return text(multiply(of(a), of(b)))


def size(dim, sizes: Mapping[str, int]) -> int:
    """The number ``dim`` stands for, given the sizes of the names."""
    total = 0
    for mono, c in of(dim).items():
        term = c
        for name in mono:
            term *= sizes[name]
        total += term
    return total


def names(dim) -> list[str]:
    """The dimension names ``dim`` uses, sorted."""
    return sorted({name for mono in of(dim) for name in mono}) if not isinstance(dim, int) else []


def code(dim) -> str:
    """``dim`` as Python arithmetic on the names (in parentheses when it is a sum)."""
    if isinstance(dim, int):
        return str(dim)
    parts = []
    for mono, c in sorted(of(dim).items(), key=lambda mc: (-len(mc[0]), mc[0])):
        body = " * ".join(([str(abs(c))] if abs(c) != 1 or not mono else []) + list(mono))
        parts.append(("- " if c < 0 else "+ " if parts else "") + body)
    joined = " ".join(parts)
    return f"({joined})" if len(parts) > 1 or joined.startswith("-") else joined


def declared(dim_text: str, sizes: Mapping[str, int]):
    """A dimension of a symbol's declared shape (``p*r``, ``n+1``), checked against
    the ``dims`` (their sizes): canonical, or :class:`DimSyntax` at the offending part."""
    poly = parse(dim_text)
    for kind, value, start, end in _tokens(dim_text):
        if kind == "name" and value not in sizes:
            raise DimSyntax(f"undefined dimension {value!r} in {dim_text!r}", start, end,
                            f"add  {value}: <size>  under dims:")
    at = size(text(poly), sizes) if poly else 0
    if at < 1:
        where = ", ".join(f"{n} = {sizes[n]}" for n in names(text(poly)))
        raise DimSyntax(f"the dimension {dim_text!r} is {at}" + (f" at {where}" if where else ""),
                        0, len(dim_text), "a dimension must be a positive size")
    return text(poly)
