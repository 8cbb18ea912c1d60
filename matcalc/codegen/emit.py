"""The printer of emitted code: IR -> numpy (or array-API) source text.

Every piece of code is printed from the IR node it computes, never by editing
text already printed: ``B inv(A)`` is emitted as the IR ``solve(Aᵀ, Bᵀ)ᵀ``
printed as a whole, so a transposed operand is parenthesized like any other.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from .. import ir
from ..matrix import build as B
from ..ops import OPS, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW, array_api
from ..render.text import to_text
from ..shapes import show
from .numerics import gram, inverse, transpose


class Emitter:
    """Prints IR as numpy, naming shared subexpressions ``t1, t2, ...``.

    ``target="array-api"`` prints the portable spellings of
    :mod:`matcalc.ops.array_api` instead, with ``np_name`` the variable holding
    the caller's namespace and ``like`` an argument constants take their dtype
    and device from."""

    def __init__(self, np_name: str, shared: set[ir.Expr], names: dict[ir.Expr, str] | None = None,
                 target: str = "numpy", like: str = "", reserved: frozenset[str] = frozenset()):
        self.np = np_name
        self.reserved = reserved      # names the function already uses (arguments, dimensions)
        self.target = target
        self.like = like
        self.shared = shared
        self.names: dict[ir.Expr, str] = dict(names or {})
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.counter = len(self.names)

    def value(self, e: ir.Expr) -> str:
        return self.code(e)[0]

    def code(self, e: ir.Expr) -> tuple[str, int]:
        if e in self.names:
            return self.names[e], PREC_ATOM
        text, prec = self._code(e)
        if e in self.shared and isinstance(e, ir.Apply) and not _trivial(e):
            name = self.fresh()
            self.lines.append(f"{name} = {text}  # {show(e.shape)}: {_short(e)}")
            self.names[e] = name
            return name, PREC_ATOM
        return text, prec

    def fresh(self) -> str:
        """The next intermediate's name ``t1, t2, ...``, skipping the arguments' names
        (a symbol called ``t1`` must not be overwritten)."""
        while True:
            self.counter += 1
            name = f"t{self.counter}"
            if name not in self.reserved:
                return name

    def wrap(self, e: ir.Expr, need: int, strict: bool = False) -> str:
        text, prec = self.code(e)
        return f"({text})" if prec < need or (strict and prec == need) else text

    def _code(self, e: ir.Expr) -> tuple[str, int]:
        if isinstance(e, (ir.Symbol, ir.Dim)):
            return e.name, PREC_ATOM
        if isinstance(e, ir.Number):
            v = e.value
            if isinstance(v, Fraction) and v.denominator == 1:
                text = str(v.numerator)
            else:
                text = repr(float(v))
            return text, (PREC_NEG if text.startswith("-") else PREC_ATOM)
        assert isinstance(e, ir.Apply)
        op, args = OPS[e.op], e.args
        if e.op == "matmul":
            special = self._matmul(*args)
            if special is not None:
                return special
        if B.is_zeros(e):                                    # 0 * ones(n, n): zeros
            ones = next(a for a in args if B.is_ones(a))
            text, prec = self._code(ones)
            return text.replace(".ones(", ".zeros(", 1), prec
        if op.syntax == "infix":
            if e.op == "pow":
                return f"{self.wrap(args[0], PREC_POW, True)} ** {self.wrap(args[1], PREC_NEG)}", PREC_POW
            left = self.wrap(args[0], op.precedence)
            right = self.wrap(args[1], op.precedence, True)
            return f"{left} {op.written} {right}", op.precedence
        if op.syntax == "prefix":
            return f"-{self.wrap(args[0], PREC_NEG, True)}", PREC_NEG
        if op.syntax == "postfix":
            if args[0].rank < 2:    # a vector's or a number's transpose is itself (3.T is no Python)
                return self.code(args[0])
            return f"{self.wrap(args[0], PREC_POSTFIX)}.T", PREC_POSTFIX
        template = self._template(op)
        if op.dim_args:
            dims = [_dim_code(d) for d in e.attr("dims")]
            inner = dims[0] if e.op == "eye" else f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
            return template.format(dims=inner, like=self.like), PREC_ATOM
        axis = e.attr("axis")
        parts = [self.value(a) for a in args]
        text = template.format(*parts, axis=axis, axis_kw="" if axis is None else f", axis={axis}")
        return text, PREC_ATOM

    def _template(self, op) -> str:
        """The op's spelling for this target, with the namespace variable filled in."""
        if self.target == "numpy":
            self.helpers.update(op.extra.get("helpers", ()))
            return op.numpy.replace("np.", f"{self.np}.")
        template = array_api.SPELLINGS[op.name]
        self.helpers.update(array_api.helpers_of(template))
        return re.sub(r"\bxp\b", self.np, template)

    def _solve(self, a: ir.Expr, b: ir.Expr) -> str:
        """``solve(a, b)``, both printed from their IR (transposes included)."""
        a_text, b_text = self.value(a), self.value(b)
        if self.target == "numpy":
            return f"{self.np}.linalg.solve({a_text}, {b_text})"
        self.helpers.update(array_api.helpers_of(array_api.SOLVE))
        return re.sub(r"\bxp\b", self.np, array_api.SOLVE).format(a_text, b_text)

    def _matmul(self, a: ir.Expr, b: ir.Expr):
        """diag(v) @ M -> v[:, None] * M;  inv(A) @ B -> solve(A, B), and transposes;
        Mᵀ diag(v) M with v >= 0 -> Sᵀ S for S = sqrt(v)[:, None] * M (numpy then
        uses a symmetric rank-k product, half the work of a general one)."""
        np_ = self.np
        found = gram(a, b)
        if found is not None:
            m, v = found
            weights, rows = self.value(v), self.wrap(m, PREC_MUL, True)
            name = self.fresh()
            self.lines.append(f"{name} = {np_}.sqrt({weights})[:, None] * {rows}"
                              f"  # so that the product below is {name}.T @ {name}")
            return f"{name}.T @ {name}", PREC_MUL
        if B.is_op(a, "diag") and a.args[0].rank == 1 and a not in self.names:
            v = self.wrap(a.args[0], PREC_POSTFIX)
            scale = f"{v}[:, None]" if b.rank == 2 else v
            return f"{scale} * {self.wrap(b, PREC_MUL, True)}", PREC_MUL
        if B.is_op(b, "diag") and b.args[0].rank == 1 and b not in self.names:
            return f"{self.wrap(a, PREC_MUL)} * {self.wrap(b.args[0], PREC_MUL, True)}", PREC_MUL
        inv_a = inverse(a)
        if inv_a is not None and a not in self.names:       # inv(A) B = solve(A, B)
            return self._solve(inv_a, b), PREC_ATOM
        inv_b = inverse(b)
        if inv_b is not None and b not in self.names:       # B inv(A) = solve(Aᵀ, Bᵀ)ᵀ
            out = self._solve(transpose(inv_b), transpose(a))
            return (out + ".T", PREC_POSTFIX) if a.rank == 2 else (out, PREC_ATOM)
        return None


def _trivial(e: ir.Expr) -> bool:
    return (B.is_op(e, "transpose") and not isinstance(e.args[0], ir.Apply)) or B.is_op(e, "ones", "eye")


def _short(e: ir.Expr) -> str:
    """The start of ``e`` as text, for a comment; never printed whole when it is
    long (written out, a graph with sharing can be millions of nodes)."""
    text = to_text(e) if ir.tree_size(e) <= 60 else to_text(_prefix(e, 60))
    return text if len(text) <= 60 else text[:57] + "..."


def _prefix(e: ir.Expr, budget: int) -> ir.Expr:
    """``e`` with its subtrees past the first ``budget`` nodes (preorder) cut to a
    stand-in symbol: enough to print the first characters of."""
    memo: dict[int, int] = {}
    if ir.tree_size(e, memo) <= budget or not isinstance(e, ir.Apply):
        return e
    args, left = [], budget - 1
    for a in e.args:
        size = memo[id(a)]
        args.append(_prefix(a, left) if left > 0 else ir.Symbol(shape=a.shape, name="..."))
        left -= size
    return ir.apply(e.op, args, dict(e.attrs))


def _dim_code(d) -> str:
    return str(d) if isinstance(d, int) else " * ".join(str(d).split("*"))


def shared_nodes(roots: list[ir.Expr]) -> set[ir.Expr]:
    """Subexpressions used more than once across ``roots`` (counted by structure)."""
    uses: Counter = Counter()
    seen: set[ir.Expr] = set()
    stack = list(roots)
    for r in roots:
        uses[r] += 0
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for c in node.children():
            uses[c] += 1
            stack.append(c)
    # a root that is also used inside another root is shared too
    return {n for n, k in uses.items() if k >= 2 or (k >= 1 and n in roots)}


