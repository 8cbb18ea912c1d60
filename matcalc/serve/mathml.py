"""MathML for the page: :func:`matcalc.render.mathml.to_mathml` (latex2mathml with
the touches that fit MathML Core), bold and monospace as the page's CSS classes
(an inline ``style`` is refused by the page's Content-Security-Policy), and a
formula that cannot be converted shown as its LaTeX source, as text.

>>> to_mathml(r"\\operatorname{tr}\\left(A\\right)")  # doctest: +ELLIPSIS
'<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mi>tr</mi>...'
>>> to_mathml("")
''
"""

from __future__ import annotations

import html

from ..render import mathml

MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def to_mathml(latex: str, display: str = "inline") -> str:
    """One ``<math>`` element for a LaTeX formula; ``""`` for an empty one."""
    if not latex.strip():
        return ""
    out = mathml.to_mathml(latex, display=display == "block", css=True)
    if out is None:
        return f'<math xmlns="{MATHML_NS}" display="{display}"><mtext>{html.escape(latex)}</mtext></math>'
    return out
