"""A derivation in a notebook: ``Derivation._repr_html_`` and ``_repr_latex_``.

The HTML is the document of :mod:`matcalc.render.blocks` (the steps, the boxed
result, the check's sentence) with each piece of mathematics as MathML
(:func:`matcalc.render.mathml.to_mathml`; its text form where latex2mathml is not
installed), and the emitted module in a collapsed ``<details>``.  Every text that
comes from the user (the description, the expression, the code's docstring) is
escaped: it is shown, never read as markup.  The LaTeX is the body of the
document ``--latex`` writes (amsmath, amssymb), for a notebook exported to LaTeX.
"""

from __future__ import annotations

from html import escape

from .blocks import Block, Math, build
from .document import _human, to_latex_document
from .mathml import to_mathml

STYLE = ("<style>.matcalc-derivation .mc-math{overflow-x:auto}"
         ".matcalc-derivation .mc-math td{padding:0.15em 0.4em;vertical-align:middle}"
         ".matcalc-derivation .mc-note{color:#666}"
         ".matcalc-derivation .mc-result{display:inline-block;max-width:100%;overflow-x:auto;overflow-y:hidden;margin:0.6em 0;"
         "padding:0.2em 0.8em;border:1px solid currentColor}"
         ".matcalc-derivation .mc-text{font-family:monospace}</style>")


def to_html(derivation) -> str:
    """The derivation as one ``<div class="matcalc-derivation">``."""
    out = ['<div class="matcalc-derivation">', STYLE]
    for b in build(derivation):
        out.append(_block(b))
    code = escape(derivation.code)
    functions = ", ".join(escape(f) for f in _functions(derivation))
    out.append(f"<details><summary>The emitted numpy module ({functions})</summary>"
               f"<pre><code>{code}</code></pre></details>")
    out.append("</div>")
    return "\n".join(out)


def _block(b: Block) -> str:
    if b.kind == "title":
        return f"<h3>{escape(_human(b.parts[0]))}</h3>"
    if b.kind == "section":
        return f"<h4>{_inline(b.parts)}</h4>"
    if b.kind == "user":
        return f'<p class="mc-user">{escape(b.parts[0])}</p>'
    if b.kind == "text":
        return f"<p>{_inline(b.parts)}</p>"
    if b.kind == "code":
        return f"<p>{escape(b.parts[0])}<code>{escape(b.parts[1])}</code></p>"
    if b.kind == "math":
        rows = "".join(f"<tr><td>{_math(lhs)}</td><td>=</td><td>{_math(rhs)}</td>"
                       f'<td class="mc-note">{_note(note)}</td></tr>' for lhs, rhs, note in b.parts)
        return f'<table class="mc-math">{rows}</table>'
    if b.kind == "result":
        lhs, rhs, shape = b.parts
        # boxed by the page (browsers' MathML has no menclose)
        result = Math(f"{lhs.unicode} = {rhs.unicode}   {shape.unicode}",
                      f"{lhs.latex} = {rhs.latex} \\in {shape.latex}")
        return f'<div class="mc-result">{_math(result, display=True)}</div>'
    return f"<p>{escape(str(b.parts))}</p>"


def _inline(parts) -> str:
    return "".join(_math(p) if isinstance(p, Math) else escape(p) for p in parts)


def _math(m: Math, display: bool = False) -> str:
    """MathML, or the text form (escaped) where there is none."""
    mathml = to_mathml(m.latex, display) if m.latex else None
    return mathml if mathml is not None else f'<span class="mc-text">{escape(m.unicode)}</span>'


def _note(note: Math | None) -> str:
    if note is None or not note.latex:
        return ""
    return _math(Math(note.unicode, "\\in " + note.latex)) if note.latex.startswith("\\mathbb") else _math(note)


def _functions(derivation) -> list[str]:
    """The functions the module defines, in order (``value``, ``grad_W``, ...)."""
    return [line[4:line.index("(")] for line in derivation.code.splitlines()
            if line.startswith("def ") and "(" in line and not line.startswith("def _")]


def to_latex(derivation) -> str:
    """The body of the LaTeX document (what goes between ``\\begin{document}`` and
    ``\\end{document}`` in a preamble with amsmath and amssymb)."""
    doc = to_latex_document([derivation])
    start = doc.index("\\begin{document}") + len("\\begin{document}")
    return doc[start:doc.rindex("\\end{document}")].strip() + "\n"
