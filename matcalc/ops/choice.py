"""Elementwise choice and the last elementwise functions, one record each:
``where(A > B, P, Q)``, ``clip(A, lo, hi)``, ``erf`` and ``stop_gradient``.

``where`` is stored as ``where(A, B, P, Q)``, meaning ``P`` where ``A > B``
(strictly), else ``Q``; the parser reads every comparison into that one form
(``L < R`` is ``R > L``; ``L <= R`` holds where ``L > R`` does not, so ``P`` and
``Q`` swap), and :func:`_spell` writes it back the way a person reads it.  No
derivative flows through the comparison (``[A > B]`` is flat almost everywhere).

>>> from matcalc.ir import Symbol, apply
>>> from matcalc.language import to_text
>>> x, G = Symbol(("n",), "x"), Symbol(("n",), "G")
>>> to_text(apply("where", [x, apply("neg", [x]), G, Symbol((), "c")]))
'where(x > -x, G, c)'
"""

from __future__ import annotations

import inspect
import math
from fractions import Fraction

import numpy as np
import sympy

from .. import ir
from ..index import nodes as I
from ..language import to_text
from ..matrix import build as B
from ..registry import ALGEBRA_FORMS, Op, Rewrite, register, rewrite
from . import array_api, mp
from .elementwise import SYMBOLS, Defined, derivative_ir, function, maximum, minimum, step

X, Y, Z, W = SYMBOLS[:4]


# -- where(A > B, P, Q) -----------------------------------------------------------------

class where(Defined):  # noqa: N801  (named as the language spells it)
    """P where A > B, else Q: where(a, b, p, q) = [a > b] p + (1 − [a > b]) q, with
    [a > b] = step(a − b).  ∂/∂p = [a > b], ∂/∂q = 1 − [a > b], ∂/∂a = ∂/∂b = 0."""

    @classmethod
    def formula(cls, a, b, p, q):
        s = step(a - b)
        return s * p + (1 - s) * q

    def fdiff(self, argindex=1):
        a, b = self.args[:2]
        if argindex <= 2:
            return sympy.Integer(0)
        return where(a, b, 1, 0) if argindex == 3 else where(a, b, 0, 1)


def _where_vjp(g, node):
    """P̄ = G [A > B], Q̄ = G [A <= B] (printed where(A > B, G, 0), where(A <= B, G, 0) once
    the algebra takes G inside: :func:`merge_choices`), each summed over the axes it was
    broadcast along; nothing flows to A or B.  (The indicator stands apart from G, so a
    linear map's reading names it as one entry.)"""
    a, b, p, q = node.args
    one, zero = B.num(1), B.num(0)
    return (None, None, B.unbroadcast(B.mul(g, B.call("where", a, b, one, zero)), p.shape),
            B.unbroadcast(B.mul(g, B.call("where", a, b, zero, one)), q.shape))


# the comparison as written -> (A, B, P, Q) of ``A > B``, from (L, R, P, Q)
_ORDER = {">": (0, 1, 2, 3), "<": (1, 0, 2, 3), ">=": (1, 0, 3, 2), "<=": (0, 1, 3, 2)}
COMPARISONS = tuple(_ORDER)


def _compare(cmp: str, left, right, rest: list) -> list:
    """``where(L cmp R, P, Q)`` as the node's arguments ``(A, B, P, Q)`` with ``A > B``."""
    given = [left, right, *rest]
    return [given[k] for k in _ORDER[cmp]]


def _is_zero(e) -> bool:
    return isinstance(e, ir.Number) and e.value == 0


_WRITTEN = {"text": {}, "unicode": {"<=": "≤", ">=": "≥"}, "latex": {"<=": "\\le", ">=": "\\ge"}}


def _spell(node, parts: list[str], style: str = "text") -> str:
    """``where(A > B, P, Q)``, or the same choice read the other way where that is how a
    person writes it: the zero branch last (``where(x <= 0, G, 0)``, not
    ``where(x > 0, 0, G)``) and a number on the right (``x < 0``, not ``0 > x``).
    ``style``: the language (``text``), ``unicode`` or ``latex`` (a cases form)."""
    a, b, p, q = parts
    negate = _is_zero(node.args[2]) and not _is_zero(node.args[3])
    if negate:
        p, q = q, p
    cmp = "<=" if negate else ">"
    if isinstance(node.args[0], ir.Number) and not isinstance(node.args[1], ir.Number):
        a, b, cmp = b, a, (">=" if negate else "<")
    cmp = _WRITTEN[style].get(cmp, cmp)
    if style == "latex":
        return f"\\begin{{cases}} {p} & \\text{{if }} {a} {cmp} {b} \\\\ {q} & \\text{{otherwise}} \\end{{cases}}"
    return f"where({a} {cmp} {b}, {p}, {q})"


function("where", where(X, Y, Z, W), "np.where({0} > {1}, {2}, {3})",
         lambda a, b, p, q: np.where(a > b, p, q),
         latex="\\begin{{cases}} {2} & \\text{{if }} {0} > {1} \\\\ {3} & \\text{{otherwise}} \\end{{cases}}",
         unicode="where({0} > {1}, {2}, {3})", array_api="xp.where({0} > {1}, {2}, {3})",
         vjp=_where_vjp, compare=_compare, spell=_spell,
         mp=mp.elementwise(lambda a, b, p, q: p if a > b else q, 4))

_CHOICE = sympy.Function("where")     # where(...) as the elementwise algebra writes it


def merge_choices(e: sympy.Expr) -> sympy.Expr | None:
    """Σ_k u_k where(a, b, p_k, q_k) = where(a, b, Σ_k u_k p_k, Σ_k u_k q_k): the terms that
    choose on the same comparison as one choice, their factors inside (G [x > 0] is
    where(x > 0, G, 0); a leaky ReLU's where(x > 0, 1, 0) + where(x <= 0, 1, 0) / 100 is
    where(x > 0, 1, 1/100)).  The algebra keeps it where it is shorter."""
    groups: dict[tuple, list] = {}
    rest = []
    for t in sympy.Add.make_args(e):
        picks = [f for f in sympy.Mul.make_args(t) if f.func == _CHOICE]
        if len(picks) != 1:
            rest.append(t)
            continue
        u = sympy.Mul(*[f for f in sympy.Mul.make_args(t) if f is not picks[0]])
        groups.setdefault(picks[0].args[:2], []).append((u, picks[0]))
    if not any(len(g) > 1 or g[0][0] != 1 for g in groups.values()):
        return None
    for (a, b), g in groups.items():
        rest.append(_CHOICE(a, b, sympy.Add(*[u * c.args[2] for u, c in g]), sympy.Add(*[u * c.args[3] for u, c in g])))
    return sympy.Add(*rest)


ALGEBRA_FORMS.append(("choices merged", "u where(c, p, q) + v where(c, r, s) = where(c, u p + v r, u q + v s)",
                      merge_choices))


# -- clip(A, lo, hi) ------------------------------------------------------------------------

class clip(Defined):  # noqa: N801
    """numpy's clip: min(max(a, lo), hi) (hi everywhere when lo > hi).  Each of the
    three gets the gradient where it is the value, split evenly at a tie:
    ∂/∂a = (1 + sign(a − lo)) (1 − sign(max(a, lo) − hi)) / 4, which for lo ≤ hi is
    (sign(a − lo) − sign(a − hi)) / 2 = [lo < a < hi] + ½[a = lo] + ½[a = hi]."""

    @classmethod
    def formula(cls, a, lo, hi):
        return minimum.formula(maximum.formula(a, lo), hi)

    def fdiff(self, argindex=1):
        a, lo, hi = self.args
        below = (1 - sympy.sign(maximum(a, lo) - hi)) / 2      # ∂min(m, hi)/∂m at m = max(a, lo)
        if argindex == 1:
            return (1 + sympy.sign(a - lo)) / 2 * below
        if argindex == 2:
            return (1 - sympy.sign(a - lo)) / 2 * below
        return (1 + sympy.sign(maximum(a, lo) - hi)) / 2


def _ordered(lo, hi) -> bool:
    """lo ≤ hi for certain: two numbers in order (clip(x, -1, 1))."""
    return isinstance(lo, ir.Number) and isinstance(hi, ir.Number) and lo.value <= hi.value


def _clip_vjp(g, node):
    """Ā = G (sign(A − lo) − sign(A − hi)) / 2, l̄o = G (1 − sign(A − lo)) / 2,
    h̄i = G (1 + sign(A − hi)) / 2 for bounds in order; the general derivative else."""
    a, lo, hi = node.args
    if not _ordered(lo, hi):
        return tuple(B.unbroadcast(B.mul(g, derivative_ir("clip", a, lo, hi, wrt=k)), x.shape)
                     for k, x in enumerate(node.args))
    below, above = B.call("sign", B.sub(a, lo)), B.call("sign", B.sub(a, hi))
    half = B.num(Fraction(1, 2))
    parts = (B.sub(below, above), B.sub(B.num(1), below), B.add(B.num(1), above))
    return tuple(B.unbroadcast(B.mul(g, B.mul(part, half)), x.shape) for part, x in zip(parts, node.args))


function("clip", clip(X, Y, Z), "np.clip({0}, {1}, {2})", lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi),
         array_api="xp.minimum(xp.maximum({0}, {1}), {2})", vjp=_clip_vjp,
         mp=mp.elementwise(lambda a, lo, hi: min(max(a, lo), hi), 3))


# -- erf ------------------------------------------------------------------------------------

def _erf(x):
    """The error function to about 1e-15 relative: below |x| = 2 the series
    erf(x) = 2/√π e^(-x²) Σ_k (2x²)^k x / (1·3···(2k+1)) (positive terms), above it
    1 - erfc(|x|) by erfc's continued fraction e^(-x²)/√π / (x + ½/(x + 1/(x + (3/2)/(x + ...))))."""
    a = np.abs(x)
    s = np.minimum(a, 2.0)
    term, total = s, s
    for k in range(1, 45):
        term = term * (2.0 * s * s) / (2 * k + 1)
        total = total + term
    c = np.minimum(np.maximum(a, 2.0), 30.0)     # (erfc(30) is below the smallest float)
    f = c
    for k in range(60, 0, -1):
        f = c + (0.5 * k) / f
    near = 1.1283791670955126 * np.exp(-s * s) * total
    far = 1.0 - np.exp(-c * c) / (1.7724538509055159 * f)
    return np.sign(x) * np.where(a < 2.0, near, far)


ERF_SOURCE = inspect.getsource(_erf).strip()
ERF_ARRAY_API = ERF_SOURCE.replace("def _erf(x):", "def _erf(xp, x):").replace("np.", "xp.")
array_api.HELPERS["_erf"] = ERF_ARRAY_API     # (the array-API standard has no erf)

function("erf", sympy.erf(X), "_erf({0})", _erf, array_api="_erf(xp, {0})", helpers={"_erf": ERF_SOURCE},
         einsum=lambda x: np.vectorize(math.erf, otypes=[float])(np.asarray(x, dtype=float)))



def _erfc(x):
    """The complementary error function 1 - erf(x), accurate where erf(x) is near 1:
    for x >= 2 erfc's continued fraction e^(-x²)/√π / (x + ½/(x + 1/(x + (3/2)/(x + ...)))),
    below it 1 - erf(x) (at least 0.0047 there, so a few digits at most are lost)."""
    c = np.minimum(np.maximum(x, 2.0), 30.0)
    f = c
    for k in range(60, 0, -1):
        f = c + (0.5 * k) / f
    far = np.where(x > 30.0, 0.0, np.exp(-c * c) / (1.7724538509055159 * f))
    return np.where(x >= 2.0, far, 1.0 - _erf(np.minimum(x, 2.0)))


ERFC_SOURCE = inspect.getsource(_erfc).strip()
array_api.HELPERS["_erfc"] = ERFC_SOURCE.replace("def _erfc(x):", "def _erfc(xp, x):").replace(
    "np.", "xp.").replace("_erf(xp.minimum", "_erf(xp, xp.minimum")

function("erfc", sympy.erfc(X), "_erfc({0})", _erfc, array_api="_erfc(xp, {0})",
         helpers={"_erf": ERF_SOURCE, "_erfc": ERFC_SOURCE},
         einsum=lambda x: np.vectorize(math.erfc, otypes=[float])(np.asarray(x, dtype=float)))


def _erf_complement(node):
    """``1 - erf(x)`` → ``erfc(x)``; ``1 + erf(x)`` (either order) → ``erfc(-x)``."""
    one = (lambda e: B.is_num(e, 1) or B.is_ones(e))
    a, b = node.args
    if node.op == "sub" and one(a) and B.is_op(b, "erf") and b.shape == node.shape:
        return B.call("erfc", b.args[0])
    if node.op == "add":
        for c, f in ((a, b), (b, a)):
            if one(c) and B.is_op(f, "erf") and f.shape == node.shape:
                return B.call("erfc", B.neg(f.args[0]))
    return None


rewrite(Rewrite("erf complement", "1 - erf(x) = erfc(x), 1 + erf(x) = erfc(-x)", "sub", _erf_complement))
rewrite(Rewrite("erf complement", "1 - erf(x) = erfc(x), 1 + erf(x) = erfc(-x)", "add", _erf_complement))

# -- stop_gradient(A) -----------------------------------------------------------------------

def _index_held(node, args, idx, pool):
    """stop_gradient(A)_ij: an entry of a constant (no index calculus passes through it)."""
    return I.Opaque(node, tuple(idx), to_text(node))


register(Op("stop_gradient", "call", 1, lambda shapes, attrs: shapes[0], numpy="{0}", array_api="{0}",
            latex="\\operatorname{{sg}}({0})", unicode="sg({0})", doc="the value of A, a constant to differentiation",
            vjp=lambda g, node: (None,), fn=lambda a: a, index=_index_held,
            index_deriv=lambda entry, d_arg, pool: I.Num(Fraction(0)), frozen=True))
