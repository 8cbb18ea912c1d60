"""Elementwise algebra through sympy.

A maximal elementwise subtree (``+ - * / ** -`` and elementwise functions)
is a commutative algebra over its leaves, so sympy can do what it is good at:
cancel ``S * (Y / S)`` to ``Y``, collect ``W + W`` into ``2 W``.  The leaves
(symbols, matrix products, reductions, ...) become sympy symbols; nothing the
user wrote is ever given to sympy as text.

Broadcasting is safe here: every leaf is read as its value broadcast to the
subtree's shape, and ``ones(...)`` is the number 1 (the caller restores the
shape if a result loses it).

Simplification has a time budget per derivation (:func:`budget`): past it,
subtrees keep the form they have, which is right, only longer.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction

import sympy

from .. import ir
from ..ops import OPS
from ..registry import ALGEBRA_FORMS
from . import build as B
from .conditioning import Form, choose
from .order import reading_key, term_key

_SYMPY_FUNCS = {"exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
                "sin": sympy.sin, "cos": sympy.cos, "tanh": sympy.tanh}
_OPAQUE = {name: sympy.Function(name) for name, op in OPS.items()
           if op.elementwise and name not in _SYMPY_FUNCS}
_BACK = {sympy.exp: "exp", sympy.log: "log", sympy.Abs: "abs", sympy.sin: "sin", sympy.cos: "cos",
         sympy.tanh: "tanh"}

ELEMENTWISE_ARITH = {"add", "sub", "mul", "div", "neg", "pow"}
_UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


BUDGET = 10.0    # seconds of sympy simplification per derivation
_DEADLINE: ContextVar[float | None] = ContextVar("matcalc_algebra_deadline", default=None)


@contextmanager
def budget(seconds: float | None = None) -> Iterator[None]:
    """Simplify within ``seconds`` (default :data:`BUDGET`) from now inside this block."""
    token = _DEADLINE.set(time.monotonic() + (BUDGET if seconds is None else seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def out_of_time() -> bool:
    """Whether the time budget of the enclosing :func:`budget` has run out."""
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() > deadline


def is_elementwise(node: ir.Expr) -> bool:
    return isinstance(node, ir.Apply) and (node.op in ELEMENTWISE_ARITH or OPS[node.op].elementwise)


class Algebra:
    """Translate between IR leaves and sympy symbols for one subtree."""

    def __init__(self):
        self.symbol_of: dict[ir.Expr, sympy.Symbol] = {}
        self.leaf_of: dict[sympy.Symbol, ir.Expr] = {}
        self.built: dict[int, sympy.Expr] = {}   # by id: each shared node translated once

    def leaf(self, node: ir.Expr) -> sympy.Expr:
        if B.is_ones(node):
            return sympy.Integer(1)
        if B.is_op(node, "zeros"):            # zeros(n, m): the number 0, its shape restored by the caller
            return sympy.Integer(0)
        if isinstance(node, ir.Number):
            v = node.value
            return sympy.Float(v) if isinstance(v, float) else sympy.Rational(v.numerator, v.denominator)
        sym = self.symbol_of.get(node)
        if sym is None:
            positive = isinstance(node, ir.Dim) or (isinstance(node, ir.Symbol) and "positive" in node.props)
            name = node.name if isinstance(node, ir.Dim) else f"_a{len(self.symbol_of)}"
            sign = {"positive": True} if positive else {}
            if isinstance(node, ir.Symbol) and "nonnegative" in node.props and not positive:
                sign = {"nonnegative": True}     # |X| = X, sqrt(X**2) = X
            sym = sympy.Symbol(name, real=True, **sign)
            self.symbol_of[node] = sym
            self.leaf_of[sym] = node
        return sym

    def to_sympy(self, node: ir.Expr, leaf_map) -> sympy.Expr:
        if not is_elementwise(node):
            return self.leaf(leaf_map(node))
        if id(node) in self.built:
            return self.built[id(node)]
        out = self.built[id(node)] = self._apply(node, [self.to_sympy(a, leaf_map) for a in node.args])
        if any(out is x for x in _UNDEFINED):   # (sympy's singletons: compare by identity)
            from ..errors import DerivationError
            raise DerivationError(
                f"a part of the expression divides by zero for every input (it is {'0/0' if out is sympy.nan else '1/0'}), "
                "so the expression has no derivative", hint="remove the division by zero (a difference such as A - A is 0)")
        return out

    def _apply(self, node: ir.Apply, args: list[sympy.Expr]) -> sympy.Expr:
        op = node.op
        if op == "add":
            return args[0] + args[1]
        if op == "sub":
            return args[0] - args[1]
        if op == "mul":
            return args[0] * args[1]
        if op == "div":
            return args[0] / args[1]
        if op == "neg":
            return -args[0]
        if op == "pow":
            return args[0] ** args[1]
        if op in _SYMPY_FUNCS:
            return _SYMPY_FUNCS[op](args[0])
        return _OPAQUE[op](*args)

    # -- back to IR ------------------------------------------------------------
    def to_ir(self, e: sympy.Expr) -> ir.Expr:
        if e is sympy.E:
            return B.call("exp", B.ONE)
        if e.is_Number:
            if e.is_Integer or e.is_Rational:
                return B.num(Fraction(int(e.p), int(e.q)))
            return B.num(float(e))
        if e.is_Symbol:
            return self.leaf_of[e]
        if e.is_Add:
            return self.sum_to_ir(e)
        if e.is_Mul or e.is_Pow:
            return self.product_to_ir(e)
        if isinstance(e, sympy.Function) or e.func in _BACK:
            name = _BACK.get(e.func) or str(e.func)
            return B.call(name, *(self.to_ir(a) for a in e.args))
        raise ValueError(f"unexpected sympy node {e.func}")

    def sum_to_ir(self, e: sympy.Expr) -> ir.Expr:
        terms = []
        for t in sympy.Add.make_args(e):
            coeff = t.as_coeff_Mul()[0]
            negative = bool(coeff.is_negative)
            body = self.product_to_ir(-t if negative else t)
            terms.append((negative, term_key(body), body))
        terms.sort(key=lambda x: (x[0], x[1]))
        out: ir.Expr | None = None
        for negative, _, body in terms:
            if out is None:
                out = B.neg(body) if negative else body
            else:
                out = B.sub(out, body) if negative else B.add(out, body)
        return out

    def product_to_ir(self, e: sympy.Expr) -> ir.Expr:
        coeff, rest = e.as_coeff_Mul()
        factors = list(sympy.Mul.make_args(rest))
        negative = bool(coeff.is_negative)
        if negative:
            coeff = -coeff
            # -(Y - S)/n reads better as (S - Y)/n: let a sum factor absorb the sign.
            for i, f in enumerate(factors):
                if f.is_Add:
                    factors[i] = -f
                    negative = False
                    break
        numer: list[ir.Expr] = []
        denom: list[ir.Expr] = []
        for f in factors:
            if f == 1:
                continue
            base, exp = f.as_base_exp() if f.is_Pow else (f, sympy.Integer(1))
            if base is sympy.E:
                base, exp = sympy.exp(exp), sympy.Integer(1)
            if exp.is_Number and exp < 0:
                target, exp = denom, -exp
            else:
                target = numer
            if exp == 1:
                target.append(self.to_ir(base))
            elif exp == sympy.Rational(1, 2):
                target.append(B.call("sqrt", self.to_ir(base)))
            else:
                target.append(B.power(self.to_ir(base), self.to_ir(exp)))
        if coeff.is_Rational:
            c = Fraction(int(coeff.p), int(coeff.q))
            if c.numerator != 1:
                numer.insert(0, B.num(c.numerator))
            if c.denominator != 1:
                denom.insert(0, B.num(c.denominator))
        elif coeff != 1:
            numer.insert(0, B.num(float(coeff)))
        numer.sort(key=_factor_key)
        denom.sort(key=_factor_key)
        out = numer[0] if numer else B.ONE
        for f in numer[1:]:
            out = B.mul(out, f)
        if denom:
            d = denom[0]
            for f in denom[1:]:
                d = B.mul(d, f)
            out = B.div(out, d)
        return B.neg(out) if negative else out


def _factor_key(node: ir.Expr):
    """Numbers, then scalars, then vectors and matrices: ``2 * lam * W``."""
    is_sum = isinstance(node, ir.Apply) and node.op in ("add", "sub")
    return (0 if isinstance(node, ir.Number) else 1, node.rank, is_sum, reading_key(node))


def factor_common(e: sympy.Expr) -> sympy.Expr:
    """Pull out the factor shared by most terms, recursively:
    ``S/n - Y/n + W  ->  (S - Y)/n + W``."""
    if not e.is_Add:
        return e
    terms = list(sympy.Add.make_args(e))
    counts: Counter = Counter()
    for t in terms:
        for f in set(sympy.Mul.make_args(t)):
            if not f.is_Number:
                counts[f] += 1
    best = [(c, sympy.default_sort_key(f), f) for f, c in counts.items() if c >= 2]
    if not best:
        return sympy.factor_terms(e, clear=False)
    best.sort(key=lambda x: (-x[0], x[1]))
    f = best[0][2]
    # remove f from the factors (t / f can leave exp(-a) exp(a) uncancelled, and the
    # recursion would never end)
    inside = [_without(t, f) for t in terms if f in sympy.Mul.make_args(t)]
    outside = [t for t in terms if f not in sympy.Mul.make_args(t)]
    grouped = f * factor_common(sympy.Add(*inside))
    if not outside:
        return sympy.factor_terms(grouped, clear=False)
    return grouped + factor_common(sympy.Add(*outside))


def _without(term: sympy.Expr, factor: sympy.Expr) -> sympy.Expr:
    args = list(sympy.Mul.make_args(term))
    args.remove(factor)
    return sympy.Mul(*args)


MAX_EXPANSION = 256


def expansion_size(e: sympy.Expr) -> int:
    """How many terms expanding products of sums would make (a product of 300
    binomials would make 2**300, so such a product is left as it is)."""
    if e.is_Add:
        return sum(expansion_size(t) for t in e.args)
    if e.is_Mul:
        total = 1
        for f in e.args:
            total *= expansion_size(f)
            if total > MAX_EXPANSION:
                return total
        return total
    if e.is_Pow and e.exp.is_Integer and e.exp > 0:
        return expansion_size(e.base) ** min(int(e.exp), 16)
    return max((expansion_size(a) for a in e.args), default=1) if e.args and e.is_Function else 1


def simplify_elementwise(node: ir.Expr, leaf_map) -> ir.Expr:
    """Simplify a maximal elementwise subtree; ``leaf_map`` simplifies its leaves."""
    if out_of_time() or nesting(node) > MAX_NESTING:
        return _rebuild(node, leaf_map)
    alg = Algebra()
    e = alg.to_sympy(node, leaf_map)
    try:
        return alg.to_ir(_best(e))
    except (RecursionError, ValueError, OverflowError):
        # sympy gives up on some towers of powers (or makes integers too long to
        # print); the unsimplified form is still right
        pass
    try:        # the form as written, through sympy's automatic evaluation
        return alg.to_ir(e) if _depth_ok(e) else _rebuild(node, leaf_map)
    except ValueError:
        # sympy's automatic evaluation left the reals: sqrt(-x*x) is I*|x| to
        # sympy; the IR keeps the form as written (NaN off x = 0, as numpy says)
        return _rebuild(node, leaf_map)


def _depth_ok(e) -> bool:
    try:
        sympy.count_ops(e)
        return True
    except RecursionError:
        return False


MAX_NESTING = 12   # elementwise functions and powers inside one another that sympy is given


def nesting(node: ir.Expr, memo: dict | None = None) -> int:
    """How deep elementwise functions and powers nest in ``node``'s elementwise part
    (``exp(log(x) ** 2)``: 3; sums and products do not count, sympy flattens them).
    sympy's time grows much faster than the size of such a tower (``exp`` nested 240
    deep took 13 s, 1,000 deep more than 15 minutes): past :data:`MAX_NESTING` the
    subtree keeps the chain rule's form, which is right, only longer."""
    memo = {} if memo is None else memo      # by id: `==` of big equal trees walks them
    if not is_elementwise(node):
        return 0
    if id(node) not in memo:
        inner = max(nesting(a, memo) for a in node.args)
        memo[id(node)] = inner + (node.op not in ("add", "sub", "mul", "div", "neg"))
    return memo[id(node)]


def _rebuild(node: ir.Expr, leaf_map, memo: dict | None = None) -> ir.Expr:
    """The subtree as it is, its leaves through ``leaf_map`` (each shared node once)."""
    memo = {} if memo is None else memo
    if not is_elementwise(node):
        return leaf_map(node)
    if id(node) not in memo:
        memo[id(node)] = ir.apply(node.op, [_rebuild(a, leaf_map, memo) for a in node.args], dict(node.attrs))
    return memo[id(node)]


def _expanded(e: sympy.Expr) -> sympy.Expr | None:
    if expansion_size(e) > MAX_EXPANSION:
        return None
    return factor_common(sympy.expand(e, deep=True, mul=True, multinomial=False, power_exp=False,
                                      power_base=False, log=False))


def _together(e: sympy.Expr) -> sympy.Expr | None:
    # (a common denominator of many terms multiplies them all: only for small sums)
    return sympy.together(e) if sympy.count_ops(e) <= MAX_TOGETHER else None


MAX_TOGETHER = 60
FORMS = (
    Form("as derived", "the chain rule's own form", lambda e: e),
    Form("expanded and factored", "S/n - Y/n + W = (S - Y)/n + W", _expanded),
    Form("over a common denominator", "1/√(ε + w²) - w²/(ε + w²)^{3/2} = ε/(ε + w²)^{3/2}", _together),
    Form("powers of one base combined", "exp(-a) exp(a) = 1, x² x⁻¹ = x", sympy.powsimp),
) + tuple(Form(*form) for form in ALGEBRA_FORMS)     # the records' own (where: choices merged)


def op_of(e: sympy.Expr) -> str:
    """The operation a sympy node stands for (``Pow`` is ``pow``; ``exp(x)`` is ``exp``)."""
    if e.is_Pow:
        return "pow"
    return _BACK.get(e.func) or str(e.func)


def _best(e: sympy.Expr) -> sympy.Expr:
    """The shortest of :data:`FORMS` among those float64 computes as well as the best
    (:func:`matcalc.matrix.conditioning.choose`)."""
    candidates = []
    for form in FORMS:     # past the time budget, the chain rule's own form (the first)
        if candidates and out_of_time():
            return candidates[0][1]
        if (made := form.make(e)) is not None:
            candidates.append((form, made))
    return choose(candidates, sympy.count_ops, op_of)
