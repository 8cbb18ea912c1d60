"""Print IR as unicode math for the terminal: ``Xᵀ(S − Y)/n + 2λW``.

>>> from matcalc.ir import Symbol, Dim, apply
>>> X, W = Symbol(("n", "m"), "X"), Symbol(("n", "k"), "W")
>>> to_unicode(apply("div", [apply("matmul", [apply("transpose", [X]), W]), Dim((), "n")]))
'XᵀW/n'
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from .. import ir
from ..dimexpr import is_compound
from ..index.nodes import print_order
from ..matrix import build as B
from ..ops import OPS
from .template import LEVELS, fill, function_name

GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eps": "ε", "zeta": "ζ",
         "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "lam": "λ", "mu": "μ", "nu": "ν",
         "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ",
         "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ",
         "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω"}
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")

_ADD, _HAD, _MUL, _NEG, _POW, _ATOM = 1, 1.5, 2, 3, 4, 5
_LEVEL = dict(zip(LEVELS, (_ADD, _HAD, _MUL, _NEG, _POW, _ATOM)))


def name(text: str) -> str:
    """``lam -> λ``, ``W1 -> W₁``, ``x_0 -> x₀``; ``∂J/∂S1`` (an adjoint the steps
    refer to by name) -> ``∂J/∂S₁``."""
    if text.startswith("∂J/∂"):
        return "∂J/∂" + name(text[4:])
    m = re.fullmatch(r"([A-Za-z]+?)_?(\d+)", text)
    if m:
        return GREEK.get(m.group(1), m.group(1)) + m.group(2).translate(SUB)
    return GREEK.get(text, text)


def to_unicode(expr: ir.Expr) -> str:
    return _u(expr)[0]


def _single(text: str) -> bool:
    """One letter with sub/superscripts (and maybe a number before it):
    juxtaposition needs no space (XW, λW, 2λW)."""
    return bool(re.fullmatch(r"\d*[^\W\d_][₀-₉ᵀ⁻¹]*", text))


def _wrap(pair, need) -> str:
    text, strength = pair
    return f"({text})" if strength < need else text


def _juxtapose(a: str, b: str) -> str:
    # 2λ, 2X, 2σ(x) read as products; 2 log1p(x) needs the space (2log1p reads as a name)
    starts = (b[:1].isalpha() and not re.match(r"[A-Za-z_][A-Za-z_0-9]+\(", b)) or b.startswith("(") or b.startswith("𝟏")
    if re.fullmatch(r"\d+", a):
        return f"{a}{b}" if starts else f"{a} {b}"
    tight = (_single(a) or a.endswith(")") or a.endswith("ᵀ")) and (_single(b) or b.startswith("("))
    return f"{a}{b}" if tight else f"{a} {b}"


def _number(v) -> tuple[str, int]:
    if isinstance(v, float):
        return f"{v:g}", (_NEG if v < 0 else _ATOM)
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator), (_NEG if v < 0 else _ATOM)
    return f"{v.numerator}/{v.denominator}", _MUL


def _u(e: ir.Expr) -> tuple[str, float]:
    if isinstance(e, (ir.Symbol, ir.Dim)):
        return name(e.name), _ATOM
    if isinstance(e, ir.Number):
        return _number(e.value)
    assert isinstance(e, ir.Apply)
    if B.is_zeros(e):          # the zero matrix, 0 * ones(n, m): a person writes 0 (its shape beside it)
        return "0", _ATOM
    op, args = e.op, e.args
    sub = [_u(a) for a in args]
    if op == "add":
        return f"{sub[0][0]} + {sub[1][0]}", _ADD
    if op == "sub":
        return f"{sub[0][0]} − {_wrap(sub[1], _HAD)}", _ADD
    if op == "neg":
        return f"−{_wrap(sub[0], _HAD)}", _NEG
    if B.is_zeros(e):
        return "0", _ATOM                     # 0 * ones(n, n): the zero matrix
    if op == "mul":
        if args[0].rank == 0 or args[1].rank == 0:
            return _juxtapose(_wrap(sub[0], _MUL), _wrap(sub[1], _MUL)), _MUL
        left = sub[0][0] if sub[0][1] == _HAD and args[0].op == "mul" else _wrap(sub[0], _NEG)
        return f"{left} ⊙ {_wrap(sub[1], _NEG)}", _HAD
    if op == "div":
        if args[1].rank == 0:
            return f"{_wrap(sub[0], _MUL)}/{_wrap(sub[1], _POW)}", _MUL
        return f"{_wrap(sub[0], _MUL)} ⊘ {_wrap(sub[1], _POW)}", _HAD
    if op in ("matmul", "dot"):
        left = _wrap(sub[0], _MUL)
        if args[0].rank == 1 and args[1].rank >= 1:
            left = _wrap(sub[0], _ATOM) + "ᵀ"
        return _juxtapose(left, _wrap(sub[1], _MUL)), _MUL
    if op == "transpose":
        if isinstance(args[0], ir.Apply) and args[0].op == "inv":
            return f"{_wrap(_u(args[0].args[0]), _ATOM)}⁻ᵀ", _POW
        return f"{_wrap(sub[0], _ATOM)}ᵀ", _POW
    if op == "pow":
        p = args[1]
        if isinstance(p, ir.Number) and not isinstance(p.value, float) and p.value.denominator == 1:
            return f"{_wrap(sub[0], _ATOM)}{str(p.value.numerator).translate(SUP)}", _POW
        return f"{_wrap(sub[0], _ATOM)}^{_wrap(sub[1], _ATOM)}", _POW
    if op == "sum":
        inner = sub[0]
        if args[0].rank == 1 or (e.attr("axis") == 0 and e.attr("keepdims")):
            return f"𝟏ᵀ{_wrap(inner, _ATOM)}", _MUL
        axis = e.attr("axis")
        if axis is None:
            return f"𝟏ᵀ{_wrap(inner, _ATOM)}𝟏", _MUL
        return (f"{_wrap(inner, _ATOM)}ᵀ𝟏", _MUL) if axis == 0 else (f"{_wrap(inner, _ATOM)}𝟏", _MUL)
    if op == "norm":
        return f"‖{sub[0][0]}‖" + ("_F" if args[0].rank == 2 else ""), _ATOM
    record = OPS[op]
    if record.spell is not None:   # where(A > B, P, Q): the record writes it
        return record.spell(e, [s[0] for s in sub], "unicode"), _ATOM
    if record.unicode:
        return fill(record.unicode, lambda k, spec: _wrap(sub[k], _LEVEL[spec]) if spec else sub[k][0],
                    _juxtapose, attrs=dict(e.attrs),
                    named=record.fields(e, "unicode") if record.fields else None), _LEVEL[record.binds]
    fname = op
    if (record.rowwise or "axis" in record.params) and args[0].rank == 2:
        axis = e.attr("axis")
        if not record.rowwise and axis is None:
            pass
        elif axis == 0:
            fname += "₀"   # along columns
        elif not record.rowwise:
            fname += "₁"   # along rows: mean₁(X), not mean(X) (which is over every entry)
    lead = OPS[op].leading_string    # einsum('ij,jk->ik', A, B)
    return f"{fname}({', '.join(([lead(e)] if lead else []) + [s[0] for s in sub])})", _ATOM


# -- index notation -----------------------------------------------------------------

def index_unicode(e) -> str:
    """An index expression for the terminal: ``Σ_i ∂J/∂Z_iq X_ip``, ``−Y_pq/(n S_pq)``."""
    return _ix(e, 0)


def _subs(indices) -> str:
    names = [ix.name for ix in indices]
    return "".join(names) if all(len(n) == 1 for n in names) else ",".join(names)


def _ix(e, need: int) -> str:
    from ..index import nodes as I

    if isinstance(e, I.Num):
        text = _number(e.value)[0]
        return f"({text})" if need > 0 and (text.startswith("-") or "/" in text) else text
    if isinstance(e, I.Entry):
        if e.name.startswith("∂J/∂"):
            return "∂J/∂" + name(e.name[4:]) + (f"_{_subs(e.indices)}" if e.indices else "")
        if not e.indices and is_compound(e.name):    # a dimension m*n or n+1 as a scalar
            return f"({e.name})"
        return name(e.name) + (f"_{_subs(e.indices)}" if e.indices else "")
    if isinstance(e, I.Opaque):
        inner = to_unicode(e.expr)
        return f"({inner})_{_subs(e.indices)}" if e.indices else inner
    if isinstance(e, I.Delta):
        return f"δ_{_subs((e.i, e.j))}"
    if isinstance(e, I.Sum):
        text = f"Σ_{e.index.name} {_ix(e.body, 1)}"
        return f"({text})" if need > 1 else text
    if isinstance(e, I.Add):
        parts = []
        for t in e.terms:
            s = _ix(t, 0)
            if parts:
                parts.append(("− " + s[1:]) if s.startswith("−") else ("+ " + s))
            else:
                parts.append(s)
        text = " ".join(parts)
        return f"({text})" if need > 0 else text
    if isinstance(e, I.Mul):
        factors = list(e.factors)
        sign = ""
        if factors and isinstance(factors[0], I.Num) and factors[0].value < 0:
            # -1/2 log(det P), not (-1/2) log(det P): the sign leads, the magnitude stays a factor
            sign, factors = "−", ([I.Num(-factors[0].value)] if factors[0].value != -1 else []) + factors[1:]
        numer = sorted((f for f in factors if not _recip(f)), key=print_order)
        denom = sorted((f.base if f.exp.value == -1 else I.Pow(f.base, I.Num(-f.exp.value))
                        for f in factors if _recip(f)), key=print_order)
        top = " ".join(_ix(f, 2 if n < len(numer) - 1 else 1) for n, f in enumerate(numer)) or "1"
        if denom:
            bottom = " ".join(_ix(f, 2) for f in denom)
            if len(denom) > 1:
                bottom = f"({bottom})"
            if len(numer) > 1 and not top.startswith("Σ"):
                top = top
            text = f"{top}/{bottom}"
        else:
            text = top
        text = sign + text
        return f"({text})" if need > 1 else text
    if isinstance(e, I.Pow):
        if _recip(e):
            return f"1/{_ix(I.Pow(e.base, I.Num(-e.exp.value)) if e.exp.value != -1 else e.base, 2)}"
        if isinstance(e.exp, I.Num) and not isinstance(e.exp.value, float) and e.exp.value.denominator == 1:
            return f"{_ix(e.base, 3)}{str(e.exp.value.numerator).translate(SUP)}"
        return f"{_ix(e.base, 3)}^{_ix(e.exp, 3)}"
    if isinstance(e, I.Func):
        template = OPS[e.name].unicode
        if template and function_name(template) is None:    # [x > 0]: the template itself
            return fill(template, lambda k, spec: _ix(e.arg, 0))
        fname = function_name(template) or e.name
        return f"{fname}({_ix(e.arg, 0)})"
    raise TypeError(type(e))


def _recip(f) -> bool:
    from ..index import nodes as I
    return isinstance(f, I.Pow) and isinstance(f.exp, I.Num) and f.exp.value < 0


# -- ASCII -------------------------------------------------------------------------

# Every character the terminal rendering uses beyond ASCII.  A stream that cannot
# encode all of them gets the whole output through to_ascii (matcalc.terminal).
FORMS = "".join(sorted(set("".join(GREEK.values()) + "₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ∂Σδ−⊙⊘⊗𝟏‖√")))

_ASCII_NAMES = {**{u: n for n, u in sorted(GREEK.items(), key=lambda kv: -len(kv[0]))},
                "Σ": "sum", "Π": "prod", "√": "sqrt", "∇": "grad"}     # λ -> lam, ε -> eps: the short names
_ASCII_SIGNS = {"∂": "d", "−": "-", "⊙": "*", "⊘": "/", "⊗": "(x)", "∘": "*", "·": "*", "𝟏": "1", "‖": "||",
                "±": "+/-", "—": "--", "–": "-", "≈": "~", "×": "x", "→": "->", "≤": "<=", "≥": ">=", "…": "..."}
_UNSUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ", "0123456789-T")
_UNSUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_WORD = re.compile("|".join(map(re.escape, _ASCII_NAMES)))


def to_ascii(text: str) -> str:
    """The terminal rendering in plain ASCII, for a stream that cannot encode
    :data:`FORMS`: ``Xᵀ(S − Y)/n + 2λW`` -> ``X^T(S - Y)/n + 2 lam W``,
    ``∂J/∂W₁`` -> ``dJ/dW_1``, ``Σ_j`` -> ``sum_j``, ``X⁻¹`` -> ``X^-1``.

    A name that replaces a letter is set apart from letters and digits next
    to it (``2λW`` is ``2 lam W``, not ``2lamW``).  Anything else beyond
    ASCII (a user's description) loses its accents or becomes ``?``.

    >>> to_ascii("∂²J/∂x² = 2λ𝟏ᵀx₀ ⊙ A⁻ᵀ")
    'd^2J/dx^2 = 2 lam 1^Tx_0 * A^-T'
    """
    text = re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ]+", lambda m: "^" + m.group().translate(_UNSUP), text)
    text = re.sub("[₀₁₂₃₄₅₆₇₈₉]+", lambda m: "_" + m.group().translate(_UNSUB), text)

    def word(m: re.Match) -> str:
        before = m.string[m.start() - 1:m.start()]
        after = m.string[m.end():m.end() + 1]
        space_before = before.isalnum() and before not in _ASCII_NAMES   # that one has its trailing space
        return (" " if space_before else "") + _ASCII_NAMES[m.group()] + (" " if after.isalnum() else "")

    text = _WORD.sub(word, text)
    text = "".join(_ASCII_SIGNS.get(ch, ch) for ch in text)
    if text.isascii():
        return text
    plain = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in plain if not unicodedata.combining(ch)).encode("ascii", "replace").decode()
