"""LaTeX -> MathML, for pages a browser renders (Jupyter's ``_repr_html_``).

The LaTeX is the one matcalc already writes (:mod:`matcalc.render.latex`), converted
by ``latex2mathml``, an optional dependency (``pip install 'matcalc-derive[notebook]'``).
Without it, or for LaTeX it cannot read, :func:`to_mathml` gives None and the caller
shows the text form instead.

>>> m = to_mathml("\\\\frac{\\\\partial J}{\\\\partial x} = 2 A x", display=True)
>>> m is None or (m.startswith("<math") and "<mfrac>" in m)
True
"""

from __future__ import annotations

import re

# what latex2mathml makes of matcalc's LaTeX; anything else (a tag or a bare & from text it
# passed through, as \text{<b>} is) means the output is not to be put in a page
TAGS = frozenset(["math", "mrow", "mi", "mo", "mn", "mfrac", "msup", "msub", "msubsup", "mtext", "mspace", "menclose", "munder", "mover", "munderover", "msqrt", "mroot", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "mfenced", "semantics", "annotation"])
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_BARE_AMP = re.compile(r"&(?!#x?[0-9A-Fa-f]+;|[A-Za-z]+;)")

_WORD_OPERATOR = re.compile(r"<mo>([A-Za-z]{2,})</mo>")
_VARIANTS = {'mathvariant="bold"': 'class="bold"', 'mathvariant="monospace"': 'class="mono"'}


def to_mathml(latex: str, display: bool = False, css: bool = False) -> str | None:
    """``latex`` as a ``<math>`` element (``display="block"`` when ``display``), or None
    when latex2mathml is missing, cannot read it, or gives more than MathML (:func:`safe`).

    A few touches make latex2mathml's output fit MathML Core, the part Chromium and
    Firefox render: ``\\operatorname{tr}`` comes out as ``<mo>tr</mo>``, and a word is
    an identifier, ``<mi>tr</mi>`` (so ``tr(A)`` is not spaced like ``+``); a fence
    (``\\left(``) gets no space of its own (``softmax(Z)``, not ``softmax ( Z )``).
    ``css=True`` (a page with its own style sheet, :mod:`matcalc.serve`): bold and
    monospace, which MathML Core lacks, become the classes ``bold`` and ``mono``."""
    try:
        from latex2mathml.converter import convert
    except ImportError:
        return None
    try:
        out = convert(latex, display="block" if display else "inline")
    except Exception:    # noqa: BLE001 - a form it does not know: the caller shows the text
        return None
    if not safe(out):
        return None
    out = _WORD_OPERATOR.sub(r"<mi>\1</mi>", out)
    out = out.replace('fence="true"', 'fence="true" lspace="0em" rspace="0em"')
    if css:
        for old, new in _VARIANTS.items():
            out = out.replace(old, new)
    return out


def safe(mathml: str) -> bool:
    """Only MathML elements, no bare ``&``, no ``<`` that opens anything else:

    >>> safe('<math><mi>x</mi></math>'), safe('<math><mtext><script></mtext></math>')
    (True, False)
    """
    if _BARE_AMP.search(mathml) or re.search(r"<(?![A-Za-z/])", mathml):
        return False
    return all(tag in TAGS for tag in _TAG.findall(mathml))


def available() -> bool:
    """Is latex2mathml installed?"""
    import importlib.util

    return importlib.util.find_spec("latex2mathml") is not None
