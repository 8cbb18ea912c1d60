r"""Print IR as LaTeX math, the way the seed notes write it:
``X^T (\operatorname{softmax}(X W) - Y) / n + 2 \lambda W``.

Matrix products and scalar multiples are juxtaposed, Hadamard products are
``\odot``, transposes are ``^T`` (``X^{-T}`` for ``inv(X).T``).

>>> from matcalc.ir import Symbol, apply
>>> X, W = Symbol(("n", "m"), "X"), Symbol(("m", "k"), "W")
>>> to_latex(apply("matmul", [apply("transpose", [X]), X]))
'X^T X'
"""

from __future__ import annotations

import re
from fractions import Fraction

from .. import ir
from ..dimexpr import is_compound
from ..index.nodes import print_order
from ..matrix import build as B
from ..ops import OPS
from .template import LEVELS, fill, function_name

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
         "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}
ALIASES = {"lam": "lambda", "lmbda": "lambda", "eps": "epsilon"}

# binding strength for parenthesisation
_ADD, _HADAMARD, _MUL, _NEG, _POW, _ATOM = 1, 1.5, 2, 3, 4, 5
_LEVEL = dict(zip(LEVELS, (_ADD, _HADAMARD, _MUL, _NEG, _POW, _ATOM)))


def name(text: str) -> str:
    """``lam -> \\lambda``, ``W1 -> W_{1}``, ``Sigma_inv -> \\Sigma_{inv}``, ``a_b_c -> \\mathrm{a\\_b\\_c}``;
    ``∂J/∂S1`` (an adjoint the steps refer to by name) -> ``\\frac{\\partial J}{\\partial S_{1}}``."""
    if text.startswith("∂J/∂"):
        return f"\\frac{{\\partial J}}{{\\partial {name(text[4:])}}}"
    m = re.fullmatch(r"([A-Za-z]+?)_?(\d+|_[A-Za-z0-9]+)?", text)
    base, sub = (m.group(1), m.group(2)) if m else (text, None)
    base = ALIASES.get(base, base)
    if base in GREEK:
        base = "\\" + base
    elif len(base) > 1 or "_" in base:      # a_b_c, _x: upright, every _ escaped (a_b_c is a double subscript)
        base = "\\mathrm{" + base.replace("_", "\\_") + "}"
    if sub:
        sub = sub.lstrip("_").replace("_", "\\_")
        return f"{base}_{{{sub}}}"
    return base


def entry(text: str, indices: str) -> str:
    r"""An entry of a named matrix: ``entry("W", "pq") -> W_{pq}``; a name that
    already has a subscript gets the indices after a comma, ``Z2 -> Z_{2,pq}``
    (``Z_{2}_{pq}`` is a double subscript, an error in TeX).

    >>> entry("W1", "ij"), entry("lam", "")
    ('W_{1,ij}', '\\lambda')
    """
    base = name(text)
    if not indices:
        return base
    if base.endswith("}") and "_{" in base:
        return f"{base[:-1]},{indices}}}"
    return f"{base}_{{{indices}}}"


def to_latex(expr: ir.Expr) -> str:
    return _latex(expr)[0]


def _number(value) -> tuple[str, int]:
    if isinstance(value, float):
        return (f"{value:g}", _ATOM if value >= 0 else _NEG)
    v = Fraction(value)
    if v.denominator == 1:
        return (str(v.numerator), _ATOM if v >= 0 else _NEG)
    sign = "-" if v < 0 else ""
    return (f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}", _ATOM if v >= 0 else _NEG)


def _wrap(pair, need: int) -> str:
    text, strength = pair
    return f"\\left({text}\\right)" if strength < need else text


def _latex(e: ir.Expr) -> tuple[str, int]:
    if isinstance(e, ir.Symbol):
        return name(e.name), _ATOM
    if isinstance(e, ir.Dim):
        return name(e.name), _ATOM
    if isinstance(e, ir.Number):
        return _number(e.value)
    assert isinstance(e, ir.Apply)
    if B.is_zeros(e):          # the zero matrix, 0 * ones(n, m): a person writes 0 (its shape beside it)
        return "0", _ATOM
    op, args = e.op, e.args
    sub = [_latex(a) for a in args]
    if op == "add":
        return f"{sub[0][0]} + {sub[1][0]}", _ADD
    if op == "sub":
        return f"{sub[0][0]} - {_wrap(sub[1], _MUL)}", _ADD
    if op == "neg":         # -(A ⊗ B) = (-A) ⊗ B, -(A ⊙ B) = (-A) ⊙ B: no parentheses (as in unicode)
        return f"-{_wrap(sub[0], _HADAMARD)}", _NEG
    if B.is_zeros(e):
        return "0", _ATOM                     # 0 * ones(n, n): the zero matrix
    if op == "mul":
        a, b = args
        if a.rank == 0 or b.rank == 0:
            return f"{_wrap(sub[0], _MUL)} {_wrap(sub[1], _MUL)}", _MUL
        left = sub[0][0] if sub[0][1] == _HADAMARD and args[0].op == "mul" else _wrap(sub[0], _NEG)
        return f"{left} \\odot {_wrap(sub[1], _NEG)}", _HADAMARD
    if op == "div":
        a, b = args
        if b.rank == 0:
            return f"\\frac{{{sub[0][0]}}}{{{sub[1][0]}}}", _ATOM
        return f"{_wrap(sub[0], _MUL)} \\oslash {_wrap(sub[1], _POW)}", _HADAMARD
    if op in ("matmul", "dot"):
        a, b = args
        left = _wrap(sub[0], _MUL)
        if a.rank == 1 and b.rank >= 1:
            left = _transposed(args[0], sub[0])
        return f"{left} {_wrap(sub[1], _MUL)}", _MUL
    if op == "sum":
        return _sum(args[0], sub[0], e.attr("axis"), e.attr("keepdims")), _MUL
    if _along_axis(OPS[op]):      # mean, var, std, max, min: the axis as a note
        head = OPS[op].latex or f"\\operatorname{{{op}}}"
        return f"{head}\\left({sub[0][0]}{_axis_note(e)}\\right)", _ATOM
    if op == "norm":
        tail = "_F" if args[0].rank == 2 else ""
        return f"\\left\\lVert {sub[0][0]} \\right\\rVert{tail}", _ATOM
    record = OPS[op]
    if record.rowwise:
        label = op.replace("_", "\\_")
        return f"\\operatorname{{{label}}}\\left({sub[0][0]}{_axis_note(e)}\\right)", _ATOM
    if record.spell is not None:   # where(A > B, P, Q): the record writes it
        return record.spell(e, [s[0] for s in sub], "latex"), _ATOM
    if record.leading_string:      # einsum: a string first, then any number of operands
        spec = record.leading_string(e).strip("'").replace("->", "}\\to\\texttt{")
        return record.latex.format(spec=spec, args=", ".join(s[0] for s in sub)), _ATOM
    if record.latex:
        def field(k: int, spec: str) -> str:
            if spec == "T":
                return _transposed(args[k], sub[k])
            return _wrap(sub[k], _LEVEL[spec]) if spec else sub[k][0]
        return fill(record.latex, field, attrs=dict(e.attrs),
                    named=record.fields(e, "latex") if record.fields else None), _LEVEL[record.binds]
    return f"\\operatorname{{{op}}}\\left({', '.join(s[0] for s in sub)}\\right)", _ATOM


def _axis_note(e: ir.Apply) -> str:
    axis = e.attr("axis")
    if axis is None or e.args[0].rank < 2 or (axis == 1 and OPS[e.op].rowwise):
        return ""
    return ",\\ \\text{columns}" if axis == 0 else ",\\ \\text{rows}"


def _transposed(arg: ir.Expr, pair) -> str:
    if isinstance(arg, ir.Apply) and arg.op == "inv":
        return f"{_wrap(_latex(arg.args[0]), _ATOM)}^{{-T}}"
    return f"{_wrap(pair, _ATOM)}^T"


def _along_axis(record) -> bool:
    """A reduction along an optional axis other than sum (mean, var, max, ...)."""
    return "axis" in record.params and not record.rowwise and record.name != "sum"


def _sum(arg: ir.Expr, pair, axis, keepdims=False) -> str:
    """Sums as products with ones: Σ_ij A_ij = 1ᵀA1, column sums Aᵀ1, row sums A1
    (kept as a row, ``sum(A, axis=0, keepdims=True)``: 1ᵀA)."""
    inner = _wrap(pair, _MUL)
    if arg.rank == 1 or (axis == 0 and keepdims):
        return f"\\mathbf{{1}}^T {inner}"
    if axis is None:
        return f"\\mathbf{{1}}^T {inner} \\mathbf{{1}}"
    if axis == 0:
        return f"{_wrap(pair, _ATOM)}^T \\mathbf{{1}}"
    return f"{inner} \\mathbf{{1}}"


# -- index notation ------------------------------------------------------------------

def index_latex(e) -> str:
    """An index expression as LaTeX: ``\\sum_{j} X_{ij} W_{jk}``."""
    return _ix(e, 0)


def _subs(indices) -> str:
    return "".join(ix.name for ix in indices)


def _ix(e, need: int) -> str:
    from ..index import nodes as I

    if isinstance(e, I.Num):
        text = _number(e.value)[0]
        return f"\\left({text}\\right)" if need > 0 and text.startswith("-") else text
    if isinstance(e, I.Entry):
        if e.name.startswith("∂J/∂"):
            target = entry(e.name[len("∂J/∂"):], _subs(e.indices))
            return f"\\frac{{\\partial J}}{{\\partial {target}}}"
        if not e.indices and is_compound(e.name):    # a dimension m*n or n+1 as a scalar
            return "\\left(" + e.name.replace("*", " ") + "\\right)"
        return entry(e.name, _subs(e.indices))
    if isinstance(e, I.Opaque):
        inner = to_latex(e.expr)
        return (f"\\left({inner}\\right)_{{{_subs(e.indices)}}}") if e.indices else inner
    if isinstance(e, I.Delta):
        return f"\\delta_{{{e.i.name}{e.j.name}}}"
    if isinstance(e, I.Sum):
        text = f"\\sum_{{{e.index.name}}} {_ix(e.body, 1)}"
        return f"\\left({text}\\right)" if need > 1 else text
    if isinstance(e, I.Add):
        parts = []
        for t in e.terms:
            s = _ix(t, 0)
            if parts:
                parts.append(("- " + s[1:]) if s.startswith("-") else ("+ " + s))
            else:
                parts.append(s)
        text = " ".join(parts)
        return f"\\left({text}\\right)" if need > 0 else text
    if isinstance(e, I.Mul):
        factors = list(e.factors)
        sign = ""
        if factors and isinstance(factors[0], I.Num) and factors[0].value < 0:
            # -1/2 log(det P), not (-1/2) log(det P): the sign leads, the magnitude stays a factor
            sign, factors = "-", ([I.Num(-factors[0].value)] if factors[0].value != -1 else []) + factors[1:]
        numer = sorted((f for f in factors if not _reciprocal(f)), key=print_order)
        denom = sorted((f.base for f in factors if _reciprocal(f)), key=print_order)
        top = " ".join(_ix(f, 1) for f in numer) or "1"
        if denom:
            text = f"\\frac{{{top}}}{{{' '.join(_ix(f, 1) for f in denom)}}}"
        else:
            text = top
        text = sign + text
        return f"\\left({text}\\right)" if need > 1 else text
    if isinstance(e, I.Pow):
        if _reciprocal(e):
            return f"\\frac{{1}}{{{_ix(e.base, 0)}}}"
        return f"{_ix(e.base, 2)}^{{{_ix(e.exp, 0)}}}"
    if isinstance(e, I.Func):
        template = OPS[e.name].latex
        fname = function_name(template)
        if fname is None:        # \sqrt{x}, \lvert x \rvert: the template itself
            return fill(template, lambda k, spec: _ix(e.arg, 0))
        return f"{fname}\\left({_ix(e.arg, 0)}\\right)"
    raise TypeError(type(e))


def _reciprocal(f) -> bool:
    from ..index import nodes as I
    return isinstance(f, I.Pow) and isinstance(f.exp, I.Num) and f.exp.value == -1
