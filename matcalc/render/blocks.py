"""The blocks of a derivation's document, built from a finished Derivation.

A document is a list of blocks; each piece of mathematics carries both its
unicode and its LaTeX form, so the terminal and the paper say the same thing
(:mod:`matcalc.render.document` writes them out).  The steps are data the
pipeline recorded (``Result.explanation``, ``Result.entrywise``): nothing here
differentiates or simplifies.
"""

from __future__ import annotations

from .. import ir
from ..index.calculus import collect
from ..index.nodes import Add
from ..matrix import build as B
from ..ops import OPS
from ..record import MAX_STEP_NODES
from . import vecblocks
from .latex import name as latex_name
from .latex import to_latex
from .parts import Block, Math, fact_text, rules_fired
from .parts import index_math as _mi
from .parts import join as _join
from .parts import math_of as _m
from .parts import partial as _d
from .parts import shape_math as _shape_math
from .text import to_text
from .unicode import name as uni_name
from .unicode import to_unicode

__all__ = ["Block", "Math", "build", "fact_text", "rules_fired"]


def build(derivation, *, figures: bool = True) -> list[Block]:
    """The blocks of one derivation's document.  ``figures=False`` leaves the
    measured error figures out of the verification sentence (they differ in
    the last digits from one BLAS to another), so checked-in documents such as
    the gallery's regenerate byte for byte on any machine."""
    from ..ir import deep_recursion

    with deep_recursion():
        return _build(derivation, figures)


def _build(derivation, figures: bool = True) -> list[Block]:
    p = derivation.problem
    blocks = [Block("title", (p.name,))]
    if p.description:
        blocks.append(Block("user", (_sentence(p.description),)))
    small = ir.tree_size(p.expr) <= MAX_STEP_NODES
    if small:
        lets = tuple((Math(uni_name(x.name), latex_name(x.name)), _m(x.expr), _shape_math(x.expr.shape))
                     for x in getattr(p, "let", ()))     # the user's named intermediates, in order
        top = p.expr_named if lets else p.expr
        blocks.append(Block("math", lets + ((Math("J", "J"), _m(top), _shape_math(p.expr.shape)),)))
    else:
        text = to_text(p.expr)
        text = text if len(text) <= 70 else text[:67] + "..."
        blocks.append(Block("code", ("J = ", text)))
    if p.domain:     # where it is defined: every entry of each g > 0
        blocks.append(Block("text", ("Defined where ", *_join([Math(f"{to_unicode(g)} > 0", f"{to_latex(g)} > 0")
                                                             for g in p.domain]), " (every entry).")))
    for symbol, r in derivation.results.items():
        sym = p.symbols[r.pair[1] if r.pair else symbol]
        blocks.append(Block("section", _section(r)))
        if not small:
            blocks.append(Block("text", (f"(The steps are not shown for an expression of more than "
                                         f"{MAX_STEP_NODES} nodes.)",)))
        ex, ew = (r.explanation, r.entrywise) if small else (None, None)
        v = r.vec if small else None
        if v is not None:           # in the vec convention: d vec F = (...) d vec X
            named = r.matrix
            before = _steps(ex, sym, "the gradient") if ex is not None and ex.result is not None else \
                _entry_steps(ew, sym) if ew is not None else []
            blocks += before + vecblocks.steps(v, sum(b.kind == "text" and _numbered(b) for b in before))
            ex = ew = None
        elif ex is not None and ex.result is not None:
            blocks += _steps(ex, sym)
            # the steps end in the record's form; the result tidied whole may be shorter
            # (the GP likelihood's cholesky adjoint is (inv(K) - outer(solve(K, y), ...)) / 2)
            named = ex.result if ir.tree_size(ex.result) <= ir.tree_size(r.matrix) else r.matrix
        else:
            named = r.matrix
            if ew is not None:
                blocks += _entry_steps(ew, sym)
                named = ew.result
            if small:
                blocks += _differential(r, sym)
        lhs = vecblocks.lhs(r, p) or _lhs(r, sym)
        blocks.append(Block("result", (lhs, _m(named), _shape_math(r.shape))))
        if r.let:       # too long to write out: in named intermediates (matrix/share.py)
            named = r.named
            blocks[-1] = Block("result", (lhs, _m(named), _shape_math(r.shape)))
            blocks.append(Block("text", ("where ", *_join([Math(f"{uni_name(n)} = {to_unicode(e)}",
                                                                f"{latex_name(n)} = {to_latex(e)}")
                                                           for n, e in r.let]), ".")))
        else:
            source = ex if ex is not None else ew
            used = [d for d in source.definitions if _uses(named, d.name, source)] if source is not None else []
            if used and named is not r.matrix:
                blocks.append(Block("text", ("where ", *_join([Math(f"{uni_name(d.name)} = {to_unicode(d.full)}",
                                                                    f"{latex_name(d.name)} = {to_latex(d.full)}")
                                                               for d in used]), ".")))
        if r.note:      # an unused parameter: its derivative is 0
            blocks.append(Block("text", (r.note + ".",)))
        lets = "".join(f"let {n} = {to_text(e)}; " for n, e in r.let)
        blocks.append(Block("code", ("In the expression language: ", lets + r.text)))
        if r.kind == "hessian" and r.hvp is not None and sym.rank:
            shown = [d.name for d in getattr(r.explanation or r.entrywise, "definitions", ())] if small else []
            blocks += vecblocks.hvp(r, sym, set(p.symbols) | set(p.dims) | {x.name for x in p.let} | set(shown))
            blocks.append(Block("code", ("In the expression language: ", to_text(r.hvp) if not B.is_zero_matrix(r.hvp)
                                         else "0")))
        c = derivation.verification.get(symbol)
        if c is not None:
            blocks.append(Block("text", (_verdict(c, figures),)))
    return blocks


def _section(r) -> tuple:
    """``Jacobian with respect to X``; ``Mixed second derivative with respect to W₁ and W₂``."""
    if r.pair:
        a, b = r.pair
        return ("Mixed second derivative with respect to ", Math(uni_name(a), latex_name(a)), " and ",
                Math(uni_name(b), latex_name(b)))
    title = {"gradient": "Gradient", "jacobian": "Jacobian", "hessian": "Hessian"}[r.kind]
    return (f"{title} with respect to ", Math(uni_name(r.symbol), latex_name(r.symbol)))


def _lhs(r, sym) -> Math:
    """∂J/∂X, ∂²J/∂x², or ∂²J/∂w₁∂w₂ᵀ for the boxed result."""
    if r.pair:
        a, b = r.pair
        return Math(f"∂²J/∂{uni_name(a)}∂{uni_name(b)}ᵀ",
                    f"\\frac{{\\partial^2 J}}{{\\partial {latex_name(a)}\\, \\partial {latex_name(b)}^T}}")
    if r.kind == "hessian":
        return Math(f"∂²J/∂{uni_name(sym.name)}²", f"\\frac{{\\partial^2 J}}{{\\partial {latex_name(sym.name)}^2}}")
    return _d(sym.name)


def _numbered(b: Block) -> bool:
    """Is ``b`` the heading of a numbered step ("3. Vectorized ...")?"""
    head = b.parts[0] if b.parts and isinstance(b.parts[0], str) else ""
    return head[:1].isdigit() and ". " in head[:5]


def _verdict(c, figures: bool) -> str:
    """One sentence on what the check of the emitted module found."""
    if c.status == "not judged":
        return f"The emitted code could not be checked: {c.why}."
    entries = f", {c.entries} entries" if c.entries else ""
    how = (f"The emitted code was run at random inputs that respect the props and checked against central "
           f"finite differences ({c.directions} random directions{entries}) and 60-digit arithmetic")
    if c.status == "passed":
        error = f", max relative error {c.max_rel_error:.1e}" if figures else ""
        return f"{how}: passed{error}."
    return f"{how}: FAILED: {c.why}."


def _uses(expr: ir.Expr, name: str, ex) -> bool:
    """Is the intermediate ``name`` needed to read ``expr`` (directly or through another)?"""
    direct = {s.name for s in expr.symbols}
    defs = {d.name: d for d in ex.definitions}
    seen, stack = set(), [n for n in direct if n in defs]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(s.name for s in defs[n].expr.symbols if s.name in defs)
    return name in seen


def _steps(ex, sym, what: str = "the result") -> list[Block]:
    blocks: list[Block] = []
    step = 0
    if ex.definitions:
        step += 1
        blocks.append(Block("text", (f"{step}. Name the intermediates:",)))
        rows = []
        for d in ex.definitions:
            note = _shape_math(d.full.shape)
            axis = d.full.attr("axis") if isinstance(d.full, ir.Apply) else None
            if OPS[d.full.op].extra.get("rowwise") and d.full.args[0].rank == 2:
                note = Math(note.unicode + (", row-wise" if axis == 1 else ", column-wise"),
                            note.latex + ("\\text{, row-wise}" if axis == 1 else "\\text{, column-wise}"))
            rows.append((Math(uni_name(d.name), latex_name(d.name)), _m(d.expr), note))
        blocks.append(Block("math", tuple(rows)))
    step += 1
    blocks.append(Block("text", (f"{step}. The expression in index notation:",)))
    blocks.append(Block("math", ((Math("J", "J"), _mi(ex.index_form), None),)))
    step += 1
    blocks.append(Block("text", (f"{step}. The chain rule over every path, entry by entry (",
                                 Math("∂X_ij/∂X_pq = δ_ip δ_jq",
                                      "\\partial X_{ij}/\\partial X_{pq} = \\delta_{ip}\\delta_{jq}"),
                                 ", deltas contracted), then in matrix form:")))
    for adj in ex.adjoints:
        idx = "pq" if _rank(adj, ex, sym) == 2 else ("p" if _rank(adj, ex, sym) == 1 else "")
        rows = []
        paths = [e.index for e in adj.edges if e.index is not None]
        if len(paths) == len(adj.edges) and paths:
            # every path into the target, added up: the chain rule over all paths
            total = collect(Add(tuple(paths))) if len(paths) > 1 else paths[0]
            holders = [e.holder for e in adj.edges if e.holder != "J"]
            note = Math("through " + ", ".join(uni_name(h) for h in holders),
                        "\\text{through } " + ", ".join(latex_name(h) for h in holders)) if holders else None
            rows.append((_d(adj.target, idx), _mi(total), note))
        rows.append((_d(adj.target), _m(adj.total), _shape_math(_shape(adj, ex, sym))))
        blocks.append(Block("math", tuple(rows)))
        # one short line under the adjoint: the props the tidying used, the rules that fired
        using = ("using ", *_join([fact_text(f) for f in adj.facts])) if adj.facts else ()
        fired = rules_fired(adj.rules)
        rules = (("; " if using else "") + "rules: " + ", ".join(fired),) if fired else ()
        if using or rules:
            blocks.append(Block("text", using + rules))
    step += 1
    blocks.append(Block("text", (f"{step}. In differential (Frobenius) form, ",
                                 Math(f"dJ = G : d{uni_name(sym.name)}", f"dJ = G : d{latex_name(sym.name)}"),
                                 f", which gives {what}:")))
    rhs = ex.result
    blocks.append(Block("math", ((Math("dJ", "dJ"), Math(f"({to_unicode(rhs)}) : d{uni_name(sym.name)}",
                                                           f"\\left({to_latex(rhs)}\\right) : d{latex_name(sym.name)}"),
                                  None),)))
    return blocks


def _entry_steps(ew, sym) -> list[Block]:
    """A Jacobian or Hessian entry by entry: the function's entries in index
    notation, then their derivatives with the deltas contracted."""
    blocks: list[Block] = []
    step = 0
    if ew.definitions:
        step += 1
        blocks.append(Block("text", (f"{step}. Name the intermediates:",)))
        blocks.append(Block("math", tuple((Math(uni_name(d.name), latex_name(d.name)), _m(d.expr),
                                           _shape_math(d.full.shape)) for d in ew.definitions)))
    i_u, i_l = _subscript(ew.out)
    x_u, x_l = uni_name(sym.name), latex_name(sym.name)
    if ew.kind == "jacobian":
        f_u, f_l = f"J{i_u}", f"J{i_l}"
        what = "The output, entry by entry, in index notation:"
    else:
        f_u, f_l = f"∂J/∂{x_u}{i_u}", f"\\frac{{\\partial J}}{{\\partial {x_l}{i_l}}}"
        what = "The gradient (derived as for order 1), entry by entry, in index notation:"
    step += 1
    blocks.append(Block("text", (f"{step}. {what}",)))
    blocks.append(Block("math", ((Math(f_u, f_l), _mi(ew.entry), None),)))
    q_u, q_l = _subscript(ew.wrt)
    step += 1
    delta = (Math("∂X_ij/∂X_pq = δ_ip δ_jq", "\\partial X_{ij}/\\partial X_{pq} = \\delta_{ip}\\delta_{jq}")
             if len(ew.wrt) == 2 else Math("∂x_i/∂x_q = δ_iq", "\\partial x_i/\\partial x_q = \\delta_{iq}"))
    blocks.append(Block("text", (f"{step}. Differentiated entry by entry (", delta,
                                 ", deltas contracted, intermediates folded back):")))
    if ew.kind == "jacobian":
        lhs = Math(f"∂J{i_u}/∂{x_u}{q_u}", f"\\frac{{\\partial J{i_l}}}{{\\partial {x_l}{q_l}}}")
    else:
        lhs = Math(f"∂²J/∂{x_u}{i_u}∂{x_u}{q_u}",
                   f"\\frac{{\\partial^2 J}}{{\\partial {x_l}{i_l} \\partial {x_l}{q_l}}}")
    blocks.append(Block("math", ((lhs, _mi(ew.derivative), None),)))
    return blocks


def _subscript(indices) -> tuple[str, str]:
    """``_ij`` and ``_{ij}`` for the indices (i, j); nothing for none."""
    names = "".join(ix.name for ix in indices)
    return (f"_{names}", f"_{{{names}}}") if names else ("", "")


def _differential(r, sym) -> list[Block]:
    """The differential form of a Jacobian or Hessian: the matrix that maps dx
    to the change of the output (of the gradient, for a Hessian)."""
    x_u, x_l = uni_name(sym.name), latex_name(sym.name)
    if r.kind == "jacobian":
        lhs, what = Math("dJ", "dJ"), "the output"
    elif r.kind == "hessian" and sym.rank == 1:
        lhs = Math(f"d(∂J/∂{x_u})", f"d\\left(\\frac{{\\partial J}}{{\\partial {x_l}}}\\right)")
        what = "the gradient"
    else:
        return []
    rhs = Math(f"({to_unicode(r.matrix)}) d{x_u}", f"\\left({to_latex(r.matrix)}\\right) d{x_l}")
    return [Block("text", (f"In differential form: a small change d{x_u} changes {what} by",)),
            Block("math", ((lhs, rhs, None),))]


def _shape(adj, ex, sym):
    for d in ex.definitions:
        if d.name == adj.target:
            return d.full.shape
    return sym.shape


def _rank(adj, ex, sym) -> int:
    return len(_shape(adj, ex, sym))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."
