"""Print IR in the expression language, so every result can be parsed again.

>>> from matcalc.ir import Symbol, apply
>>> X, W = Symbol(("n", "m"), "X"), Symbol(("m", "k"), "W")
>>> to_text(apply("transpose", [apply("matmul", [X, W])]))
'(X @ W).T'
"""

from __future__ import annotations

import string
from fractions import Fraction

from . import ir
from .registry import OPS, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW


def format_number(value: Fraction | float) -> str:
    """``2``, ``0.5``, ``0.001``, ``1 / 3``; floats as Python prints them."""
    if isinstance(value, float):
        return repr(value)
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        text = f"{float(value)!r}"
        if Fraction(text) == value and "e" not in text:
            return text
    return f"{value.numerator} / {value.denominator}"


def precedence(expr: ir.Expr) -> int:
    if isinstance(expr, ir.Number):
        if isinstance(expr.value, float):
            return PREC_NEG if expr.value < 0 else PREC_ATOM
        if expr.value < 0:
            return PREC_NEG
        return PREC_MUL if expr.value.denominator != 1 and "/" in format_number(expr.value) \
            else PREC_ATOM
    if isinstance(expr, ir.Apply):
        if _bare_negated_product(expr):   # -A @ B binds like the product it prints as
            return PREC_MUL
        return OPS[expr.op].precedence
    return PREC_ATOM


_PRODUCTS = ("matmul", "mul", "div")
POSITIONAL = ("ord", "k")     # parameters written without their name: norm(A, 'fro'), matrix_power(A, 3)


def _bare_negated_product(expr: ir.Apply) -> bool:
    """``-(A @ B)`` printed as ``-A @ B`` (it equals ``(-A) @ B``)."""
    arg = expr.args[0] if expr.args else None
    return (OPS[expr.op].syntax == "prefix" and isinstance(arg, ir.Apply) and arg.op in _PRODUCTS
            and not isinstance(arg.args[0], ir.Number))


def _scales(app: ir.Apply) -> bool:
    """``c * (A @ B)`` equals ``(c * A) @ B`` for a scalar c, so it prints as
    ``c * A @ B`` the way people write it."""
    right = app.args[1]
    return (app.op == "mul" and app.args[0].rank == 0 and isinstance(right, ir.Apply)
            and right.op in _PRODUCTS)


def to_text(expr: ir.Expr, memo: dict[int, str] | None = None) -> str:
    """The expression in the language (iterative over chains of binary operators).

    Pass the same ``memo`` dict when printing many nodes of one tree (every
    subexpression, for the CLI's shape tree): each node is then printed once,
    not once per ancestor.
    """
    return _Printer(memo).text(expr)


class _Printer:
    def __init__(self, memo: dict[int, str] | None = None):
        self.memo: dict[int, str] = {} if memo is None else memo

    def wrap(self, child: ir.Expr, need: int, strict: bool = False) -> str:
        text = self.text(child)
        p = precedence(child)
        if p < need or (strict and p == need):
            return f"({text})"
        return text

    def text(self, expr: ir.Expr) -> str:
        key = id(expr)
        if key in self.memo:
            return self.memo[key]
        # Left-nested chains (x + x + ... + x) are printed with a loop.
        chain: list[ir.Apply] = []
        node = expr
        while isinstance(node, ir.Apply) and OPS[node.op].syntax == "infix" and node.op != "pow" \
                and id(node) not in self.memo:
            chain.append(node)
            node = node.args[0]
        if chain:
            acc = self.text(node)
            for app in reversed(chain):
                op = OPS[app.op]
                left = acc if precedence(app.args[0]) >= op.precedence else f"({acc})"
                right = self.wrap(app.args[1], op.precedence, strict=not _scales(app))
                acc = f"{left} {op.written} {right}"
                self.memo[id(app)] = acc
            return acc
        out = self._single(expr)
        self.memo[key] = out
        return out

    def _template(self, template: str, expr: ir.Apply, named) -> str:
        """``{0}`` the argument, ``{0:atom}`` it in parentheses unless it binds like ``.T``,
        ``{shape}`` a named field."""
        out = ""
        for literal, name, spec, _ in string.Formatter().parse(template):
            out += literal
            if name is not None:
                out += named[name] if not name.isdigit() else \
                    self.wrap(expr.args[int(name)], PREC_POSTFIX if spec else 0)
        return out

    def _single(self, expr: ir.Expr) -> str:
        if isinstance(expr, ir.Symbol):
            return expr.name
        if isinstance(expr, ir.Dim):
            return expr.name
        if isinstance(expr, ir.Number):
            return format_number(expr.value)
        assert isinstance(expr, ir.Apply)
        op = OPS[expr.op]
        if op.syntax == "prefix":
            arg = expr.args[0]
            if _bare_negated_product(expr):   # -(A @ B) == (-A) @ B: a person writes -A @ B
                return f"{op.written}{self.text(arg)}"
            return f"{op.written}{self.wrap(arg, PREC_NEG, strict=True)}"
        if op.syntax == "postfix":
            inner = self.wrap(expr.args[0], PREC_POSTFIX)
            if isinstance(expr.args[0], ir.Number) and not inner.startswith("("):
                inner = f"({inner})"  # 2.T would read as the number "2." followed by T
            return f"{inner}{op.written}"
        if op.name == "pow":
            base = self.wrap(expr.args[0], PREC_POW, strict=True)
            return f"{base} ** {self.wrap(expr.args[1], PREC_NEG)}"
        if op.language:      # reshape(A, (p, q)), X[0:n-1, :]: parameters printed in place
            return self._template(op.language, expr, op.fields(expr, "text"))
        parts = [self.text(a) for a in expr.args]
        if op.spell is not None:             # where(A > B, P, Q): the record writes it
            return op.spell(expr, parts)
        if op.leading_string is not None:    # einsum('ij,jk->ik', A, B): the string first
            return f"{op.written}({', '.join([op.leading_string(expr)] + parts)})"
        if op.dim_args:
            parts = [str(d) for d in expr.attr("dims")]
        for key, value in expr.attrs:
            if key == "dims" or value is None:
                continue
            if key == "axis" and OPS[expr.op].rowwise and expr.args[0].rank < 2:
                continue   # softmax(x) of a vector: the only axis needs no name
            if key in POSITIONAL:
                parts.append(repr(value))
            else:
                parts.append(f"{key}={value}")
        return f"{op.written}({', '.join(parts)})"
