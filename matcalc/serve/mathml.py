"""MathML from the LaTeX matcalc writes, for the browser to render.

latex2mathml does the conversion; a few touches make its output fit MathML
Core, the part of MathML that Chromium and Firefox render:

- ``\\operatorname{tr}`` comes out as ``<mo>tr</mo>``; a word is an identifier,
  ``<mi>tr</mi>`` (upright, as a multi-letter ``mi`` is), so ``tr(A)`` is not
  spaced like ``+``;
- a fence (``\\left(``) gets no space of its own: ``softmax(Z)``, not ``softmax ( Z )``;
- ``mathvariant="bold"`` (``\\mathbf{1}``) and ``"monospace"`` are not in MathML
  Core: they become a class that the page's CSS styles (an inline ``style`` is
  refused by the page's Content-Security-Policy).

>>> to_mathml(r"\\operatorname{tr}\\left(A\\right)")  # doctest: +ELLIPSIS
'<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mi>tr</mi>...'
>>> to_mathml("")
''
"""

from __future__ import annotations

import html
import re

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

_WORD_OPERATOR = re.compile(r"<mo>([A-Za-z]{2,})</mo>")
_VARIANTS = {'mathvariant="bold"': 'class="bold"', 'mathvariant="monospace"': 'class="mono"'}


def to_mathml(latex: str, display: str = "inline") -> str:
    """One ``<math>`` element for a LaTeX formula; ``""`` for an empty one.  A
    formula latex2mathml cannot read is shown as its LaTeX source, as text."""
    if not latex.strip():
        return ""
    from latex2mathml.converter import convert

    try:
        out = convert(latex, display=display)
    except Exception:   # (latex2mathml raises its own and plain exceptions): the source, readable
        return (f'<math xmlns="{MATHML_NS}" display="{display}"><mtext>{html.escape(latex)}</mtext></math>')
    out = _WORD_OPERATOR.sub(r"<mi>\1</mi>", out)
    out = out.replace('fence="true"', 'fence="true" lspace="0em" rspace="0em"')
    for old, new in _VARIANTS.items():
        out = out.replace(old, new)
    return out
