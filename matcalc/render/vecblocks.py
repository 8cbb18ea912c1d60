"""The blocks of a derivative in the vec convention, as Magnus and Neudecker write it.

From the formatted log (:class:`matcalc.vecsteps.VecSteps`, ``Result.vec``), after the
index-notation steps of a Jacobian or the gradient's steps of a Hessian::

    dJ      = A dX B                              the differential, term by term
    d vec J = vec(A dX B)                         vectorized with vec(ABC) = (Cᵀ ⊗ A) vec B
            = (Bᵀ ⊗ A) d vec X
    ∂ vec J/∂(vec X)ᵀ = Bᵀ ⊗ A                    the tidy rules that fired, then the result

and for a Hessian the product ``H vec(dX)`` as a matrix in ``dX``.  Nothing here
derives: each line is a piece of the log, printed.
"""

from __future__ import annotations

import re

from .. import ir
from ..matrix import build as B
from ..vecsteps import is_vec
from .latex import name as latex_name
from .latex import to_latex
from .parts import Block, Math, fact_text, join, math_of, rules_fired
from .unicode import name as uni_name
from .unicode import to_unicode

# the vec rules in the words of Magnus and Neudecker (vec stacks columns), by the key
# matcalc.vecsteps gives each: (unicode, LaTeX)
VEC_RULES = {
    "vec-product": ("vec(ABC) = (Cᵀ ⊗ A) vec B",
                "\\operatorname{vec}(ABC) = (C^T \\otimes A) \\operatorname{vec} B"),
    "vec-transpose": ("vec(Xᵀ) = K_mn vec X for X [m, n]",
                  ("\\operatorname{vec}(X^T) = K_{mn} \\operatorname{vec} X"
                  " \\text{ for } X \\in \\mathbb{R}^{m \\times n}")),
    "vec-hadamard": ("vec(A ⊙ B) = diag(vec A) vec B",
                 "\\operatorname{vec}(A \\odot B) = \\operatorname{diag}(\\operatorname{vec} A) \\operatorname{vec} B"),
    "vec-outer": ("vec(A (B : X)) = vec(A) vec(B)ᵀ vec X",
              ("\\operatorname{vec}(A\\,(B : X)) = \\operatorname{vec}(A) \\operatorname{vec}(B)^T"
              " \\operatorname{vec} X")),
}


def lhs(r, problem) -> Math | None:
    """The boxed result's left side in the vec convention: ``∂ vec J/∂(vec X)ᵀ``,
    ``∂²J/∂vec X ∂(vec X)ᵀ`` or ``∂²J/∂vec W₁ ∂(vec W₂)ᵀ`` (``vec`` left out for a vector);
    None when ``r`` is no derivative in the vec convention."""
    if not is_vec(problem, r):
        return None
    wrt = problem.symbols[r.pair[1] if r.pair else r.symbol]
    x_u, x_l = _vec(wrt.name, wrt.rank)
    if wrt.rank == 2:
        x_u, x_l = f"({x_u})", f"({x_l})"
    if r.kind == "jacobian":
        f_u, f_l = _vec("J", problem.expr.rank)
        space = " " if problem.expr.rank == 2 else ""
        return Math(f"∂{space}{f_u}/∂{x_u}ᵀ", f"\\frac{{\\partial {f_l}}}{{\\partial {x_l}^T}}")
    w_u, w_l = _vec(r.pair[0] if r.pair else r.symbol, r.gradient.rank)
    return Math(f"∂²J/∂{w_u} ∂{x_u}ᵀ", f"\\frac{{\\partial^2 J}}{{\\partial {w_l}\\, \\partial {x_l}^T}}")


def steps(v, step: int) -> list[Block]:
    """The numbered steps after ``step``: the differential, vectorized, tidied."""
    blocks: list[Block] = []
    f_u, f_l = uni_name(v.of), latex_name(v.of)
    x = _name(v.wrt.name)
    step += 1
    rows = []
    if v.gradient is not None:
        what = (f"{step}. The gradient ", _gradient(v.of, v.gradient_of))
        where = " (its steps are above, with its Hessian)" if v.kind == "mixed" else ""
        blocks.append(Block("text", (*what, where, " and its differential in ", x,
                                     ", term by term:") if v.differentials else (*what, ":")))
        rows.append((Math(f_u, f_l), math_of(v.gradient), None))
    else:
        blocks.append(Block("text", (f"{step}. The differential in matrix form, term by term (", _d(v.dX, v),
                                     " a small change of ", x, "):")))
    if not v.differentials:
        rows.append((Math(f"d{f_u}", f"d{f_l}"), Math("0", "0"), None))
        blocks.append(Block("math", tuple(rows)))
        return blocks
    rows.append((Math(f"d{f_u}", f"d{f_l}"), _d(v.total, v), None))
    blocks.append(Block("math", tuple(rows)))
    step += 1
    named = [Math(*VEC_RULES[k]) for k in v.rules]
    said = (" with ", *join(named)) if named else ()
    blocks.append(Block("text", (f"{step}. Vectorized (vec stacks columns)", *said, ":")))
    blocks.append(Block("math", _vectorized(v)))
    fired = rules_fired(v.fired)
    using = ("using ", *join([fact_text(f) for f in v.facts])) if v.facts else ()
    if fired or using:
        step += 1
        said = (("; " if using else "") + "rules: " + ", ".join(fired),) if fired else ()
        blocks.append(Block("text", (f"{step}. Tidied, ", *using, *said, ".")))
    return blocks


def _vectorized(v) -> tuple:
    """``d vec F = vec(t₁) + …  = (K₁) d vec X + …  = (K₁ + …) d vec X``."""
    f_u, f_l = _vec(v.of, len(v.of_shape))
    dx_u, dx_l = _vec(v.wrt.name, v.wrt.rank)
    dx = Math(f"d {dx_u}" if v.wrt.rank == 2 else f"d{dx_u}", f"\\,d{dx_l}")
    vecs = [_d(t, v) for t in v.differentials]
    first = Math(" + ".join(f"vec({m.unicode})" for m in vecs),
                 " + ".join(f"\\operatorname{{vec}}\\left({m.latex}\\right)" for m in vecs))
    blank = Math("", "")
    rows = [(Math(f"d {f_u}" if len(v.of_shape) == 2 else f"d{f_u}", f"d{f_l}"), first, None)]
    each = [_times(math_of(k), dx) for k in v.forms]
    rows.append((blank, Math(" + ".join(m.unicode for m in each), " + ".join(m.latex for m in each)), None))
    if len(v.forms) > 1:
        rows.append((blank, _times(math_of(v.form_total), dx), None))
    return tuple(rows)


def _times(form: Math, dx: Math) -> Math:
    """``(Bᵀ ⊗ A) d vec X``; a single factor (``K_mn``) needs no parentheses."""
    if _compound(form.unicode):
        return Math(f"({form.unicode}) {dx.unicode}", f"\\left({form.latex}\\right) {dx.latex}")
    return Math(f"{form.unicode} {dx.unicode}", f"{form.latex} {dx.latex}")


def _compound(text: str) -> bool:
    """Is ``text`` a sum, a Kronecker or Hadamard product at the top (``Bᵀ ⊗ A``, ``−X``)?
    A product of factors (``(Xᵀ ⊗ I) K_mn``) needs no parentheses before ``d vec X``."""
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch in "⊗+−⊙/:":
            return True
    return False


def _vec(name: str, rank: int) -> tuple[str, str]:
    """``vec X`` for a matrix, ``x`` for a vector (its own vec)."""
    if rank == 2:
        return f"vec {uni_name(name)}", f"\\operatorname{{vec}} {latex_name(name)}"
    return uni_name(name), latex_name(name)


def _d(e: ir.Expr, v) -> Math:
    """``e`` with the differential ``dX`` written as one: ``d X`` in LaTeX, thin spaces around it."""
    return differential_math(e, v.dX.name, v.wrt.name)


def differential_math(e: ir.Expr, d_name: str, name: str) -> Math:
    """``e`` printed, its symbol ``d_name`` (d + ``name``, maybe with trailing underscores) written
    ``dX`` (``dX'``) in LaTeX, with thin spaces around it."""
    latex = to_latex(e)
    rest = d_name.removeprefix("d" + name)
    if d_name.startswith("d" + name) and set(rest) <= {"_"}:   # a thin space either side: A \, dX \, B
        d = "d" + latex_name(name) + "'" * len(rest)          # dX_ (a symbol had the name dX): dX'
        latex = re.sub(re.escape(latex_name(d_name)) + r"(\^T|\^\{[^{}]*\})?",
                       lambda m: f"\\,{d}{m.group(1) or ''}\\,", latex)
        latex = latex.removeprefix("\\,").removesuffix("\\,").replace("\\left(\\,", "\\left(")
        latex = latex.replace("\\,\\right)", "\\right)")
        latex = re.sub(r"\\, ([+-]) ", r" \1 ", latex)
        latex = re.sub(r" ([+-]) \\,", r" \1 ", latex)
    return Math(to_unicode(e), latex)


def hvp(r, sym, taken: set[str] = frozenset()) -> list[Block]:
    """The Hessian-vector product: the gradient of ``G : dX`` (``H`` is symmetric), never ``H``.
    The Hessian is called ``H``, or ``∇²J`` when ``H`` is a name in ``taken`` (an intermediate)."""
    if r.hvp is None or r.direction is None or sym.rank == 0:
        return []
    H = Math("H", "H") if "H" not in taken else Math("∇²J", "\\nabla^2 J")
    d = r.direction
    d_m = differential_math(d, d.name, sym.name)
    zero = B.is_zero_matrix(r.hvp)
    body = Math("0", "0") if zero else differential_math(r.hvp, d.name, sym.name)
    if sym.rank == 2:         # H vec(dX) = vec((A + Aᵀ) dX)
        left = Math(f"{H.unicode} vec({d_m.unicode})", f"{H.latex} \\operatorname{{vec}}({d_m.latex})")
        right = body if zero else Math(f"vec({body.unicode})", f"\\operatorname{{vec}}\\left({body.latex}\\right)")
    else:
        left, right = Math(f"{H.unicode} {d_m.unicode}", f"{H.latex} \\, {d_m.latex}"), body
    g = ir.free_name("G", taken)      # as matcalc.vecsteps names the gradient
    grad = Math(f"{uni_name(g)} : {d_m.unicode}", f"{latex_name(g)} : {d_m.latex}")
    return [Block("text", ("Hessian-vector product, never building ", H, ": ", H, " is symmetric, so ", left,
                           " is the gradient of ", grad, " with respect to ", _name(sym.name), ", ",
                           _gradient(g, sym.name), ":")),
            Block("math", ((left, right, None),))]


def _name(name: str) -> Math:
    return Math(uni_name(name), latex_name(name))


def _gradient(g: str, name: str) -> Math:
    """``G = ∂J/∂W₁``."""
    return Math(f"{uni_name(g)} = ∂J/∂{uni_name(name)}",
                f"{latex_name(g)} = \\frac{{\\partial J}}{{\\partial {latex_name(name)}}}")
