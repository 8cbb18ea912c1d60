"""The pieces every block of a derivation's document is made of: a piece of
mathematics in both notations (:class:`Math`), a block (:class:`Block`), and the
short sentences the steps share (the props used, the rules that fired)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..matrix.rule import Fact, Step
from ..props import PROPS
from ..shapes import show
from .latex import entry as latex_entry
from .latex import index_latex, to_latex
from .latex import name as latex_name
from .unicode import index_unicode, to_unicode
from .unicode import name as uni_name


@dataclass(frozen=True)
class Math:
    unicode: str
    latex: str


@dataclass(frozen=True)
class Block:
    kind: str                      # "title" | "section" | "text" | "user" | "math" | "result" | "code"
    # ("user": a paragraph of the user's own text, the description: escaped, never markup)
    parts: tuple = ()              # text: str and Math pieces; math: rows of (lhs Math, rhs Math, note)


def math_of(expr: ir.Expr) -> Math:
    return Math(to_unicode(expr), to_latex(expr))


def index_math(e) -> Math:
    return Math(index_unicode(e), index_latex(e))


def partial(target: str, indices: str = "") -> Math:
    """∂J/∂W or ∂J/∂W_pq."""
    sub_u = f"_{indices}" if indices else ""
    return Math(f"∂J/∂{uni_name(target)}{sub_u}", f"\\frac{{\\partial J}}{{\\partial {latex_entry(target, indices)}}}")


def shape_math(shape) -> Math:
    """``[m*n, m*n]`` and ``\\mathbb{R}^{mn \\times mn}`` (a product of dimensions written as one)."""
    if not shape:
        return Math("scalar", "\\mathbb{R}")
    return Math(show(shape), "\\mathbb{R}^{" + " \\times ".join(_dim_latex(d) for d in shape) + "}")


def _dim_latex(d) -> str:
    """``m*n`` -> ``mn``, ``batch*k`` -> ``batch \\cdot k``."""
    factors = str(d).split("*")
    if not all(len(f) == 1 or f.isdigit() for f in factors):
        return " \\cdot ".join(factors)
    counts = {f: factors.count(f) for f in factors}          # n*n -> n^{2}
    return "".join(f if k == 1 else f"{f}^{{{k}}}" for f, k in counts.items())


def fact_text(f: Fact) -> Math:
    s = f.subject
    if f.kind in ("onehot", "stochastic"):
        why = "one-hot" if f.kind == "onehot" else "a probability vector"
        nm = uni_name(s.name)
        if s.rank == 1:
            return Math(f"Σ_i {nm}_i = 1 ({nm} is {why})",
                        f"\\sum_i {latex_name(s.name)}_i = 1 \\text{{ ({latex_name(s.name)} is {why})}}")
        return Math(f"Σ_j {nm}_ij = 1 (each row of {nm} is {why})",
                    f"\\sum_j {latex_name(s.name)}_{{ij}} = 1 \\text{{ (each row of }} {latex_name(s.name)}"
                    f"\\text{{ is {why})}}")
    if f.kind == "symmetric":
        base = next(iter(sorted(x.name for x in s.symbols if "symmetric" in x.props)), "?")
        return Math(f"{to_unicode(ir.apply('transpose', [s]))} = {to_unicode(s)} ({uni_name(base)} is symmetric)",
                    f"{to_latex(ir.apply('transpose', [s]))} = {to_latex(s)} \\text{{ (}}{latex_name(base)}"
                    f"\\text{{ is symmetric)}}")
    if f.kind == "orthogonal":
        return Math(f"{uni_name(s.name)}ᵀ{uni_name(s.name)} = I ({uni_name(s.name)} is orthogonal)",
                    f"{latex_name(s.name)}^T {latex_name(s.name)} = I \\text{{ (}}{latex_name(s.name)}"
                    f"\\text{{ is orthogonal)}}")
    said = PROPS[f.kind].says(s.name) if f.kind in PROPS and PROPS[f.kind].sentence and isinstance(s, ir.Symbol) \
        else f.kind    # a prop's own sentence: "L is lower triangular: tril(L) = L"
    return Math(said, f"\\text{{{said}}}")


MAX_RULES_SHOWN = 4


def rules_fired(log: tuple[Step, ...]) -> list[str]:
    """The rules that tidied one adjoint, as a short line a person reads: each rule
    with an identity once, in the order it first fired, by the name ``matcalc rules``
    lists it under (``transpose-product``); at most four, then "...".  A prop's rule
    is left out: the "using" sentence beside it already says the fact."""
    names: list[str] = []
    for step in log:
        rule = step.rule
        if not getattr(rule, "identity", "") or getattr(rule, "requires", ()):
            continue
        words = " ".join(rule.name.replace("_", " ").split())
        if words and words not in names:
            names.append(words)
    return names if len(names) <= MAX_RULES_SHOWN else names[:MAX_RULES_SHOWN] + ["..."]


def join(items: list[Math]) -> list:
    out: list = []
    for n, m in enumerate(items):
        if n:
            out.append(", ")
        out.append(m)
    return out
