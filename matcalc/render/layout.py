r"""Line breaking for display math: how wide a LaTeX formula will set, roughly,
and where to break one that is too wide for the page.

The width is counted in *units* of about one italic letter at the document's
size (11pt: about 6pt, so the 15cm text width holds about 70 units).  It is
an estimate from the LaTeX source alone (the documents are generated where
pdflatex may not be installed), deliberately on the generous side: a
fraction is as wide as its wider part, sub- and superscripts count at
script size, ``\sum`` with limits below is two units whatever its index.

>>> width(r"X^T \left(S - Y\right)")
7.5
>>> width(r"\frac{X^T W}{n}")
3.3
"""

from __future__ import annotations

import re

TEXT_UNITS = 63.0        # what a display line holds, with a little room to spare
NOTE_GAP = 4.0           # the space align puts before a note column (&&)

_BINARY = {"odot", "oslash", "otimes", "in", "times", "cdot", "leq", "geq", "to", "mapsto"}
_WORDS = {"exp", "log", "sin", "cos", "tanh", "det", "tr", "max", "min"}
_TEXTLIKE = {"operatorname", "mathrm", "text", "texttt"}
_SPACES = {"quad": 2.0, "qquad": 4.0, ",": 0.3, " ": 0.5, ";": 0.5, ":": 0.4, "!": 0.0}


def _group(s: str, i: int) -> tuple[str, int]:
    """The braced group (or single token) starting at s[i]: its text and the end."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    if s[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", s[i:])
        return m.group(0), i + len(m.group(0))
    return s[i], i + 1


def width(latex: str) -> float:
    """Estimated set width of a formula in units (about one letter each)."""
    total, i = 0.0, 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", latex[i:])
            word = m.group(1)
            i += len(m.group(0))
            if word == "frac":
                top, i = _group(latex, i)
                bottom, i = _group(latex, i)
                total += max(width(top), width(bottom)) + 0.6
            elif word in ("left", "right", "bigl", "bigr", "Bigl", "Bigr"):
                delim, i = _group(latex, i)
                total += 0.0 if delim == "." else 0.7
            elif word in _TEXTLIKE:
                body, i = _group(latex, i)
                total += 0.85 * len(re.sub(r"\\.", "x", body))
            elif word in ("mathbf", "boxed", "sqrt"):
                body, i = _group(latex, i)
                total += width(body) + (1.0 if word != "mathbf" else 0.0)
            elif word == "sum":
                total += 3.0
                if latex[i:i + 1] == "_":      # limits below: the index takes no width
                    _, i = _group(latex, i + 1)
            elif word in _SPACES:
                total += _SPACES[word]
            elif word in _BINARY:
                total += 2.4
            elif word in _WORDS:
                total += 0.85 * len(word) + 0.3
            elif word in ("lVert", "rVert"):
                total += 0.7
            else:                              # \lambda, \partial, \delta, ...
                total += 1.0
        elif ch in "_^":
            body, i = _group(latex, i + 1)
            total += 0.7 * width(body)
        elif ch in "{}":
            i += 1
        elif ch in "+-=:<>":
            total += 2.4 if latex[i - 1:i] == " " else 1.0
            i += 1
        elif ch in "()[],;|":
            total += 0.6
            i += 1
        elif ch == "&" or ch.isspace():
            i += 1
        else:
            total += 1.0
            i += 1
    return round(total, 1)


def _pieces(latex: str) -> list[str]:
    """The formula cut before each top-level binary + and -."""
    depth, pieces, start = 0, [], 0
    i = 0
    while i < len(latex):
        if latex.startswith("\\left", i) or latex.startswith("\\Bigl", i):
            depth += 1
            i += 5
            continue
        if latex.startswith("\\right", i) or latex.startswith("\\Bigr", i):
            depth -= 1
            i += 6 if latex.startswith("\\right", i) else 5
            continue
        ch = latex[i]
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif depth == 0 and ch in "+-" and i > 0 and latex[i - 1] == " " and latex[i + 1:i + 2] == " ":
            pieces.append(latex[start:i])
            start = i
        i += 1
    pieces.append(latex[start:])
    return [p for p in pieces if p.strip()]


def split(latex: str, budget: float, indent: float = 2.0) -> list[str]:
    """The formula as lines that each fit ``budget`` units, broken before
    top-level + and - (continuation lines are indented by ``indent``).  A
    formula wrapped whole in ``\\left( ... \\right)`` followed by a short tail
    (``: dX``) is broken inside, with ``\\Bigl( ... \\Bigr)``, which may span
    lines.  One line when it fits or cannot be broken."""
    if width(latex) <= budget:
        return [latex]
    m = re.fullmatch(r"\\left\((.*)\\right\)(.{0,30})", latex, flags=re.S)
    if m and "\\right)" not in _outer_close(m.group(1)):
        inner = split(m.group(1), budget - 1.5, indent)
        if len(inner) > 1:
            return ["\\Bigl(" + inner[0]] + inner[1:-1] + [inner[-1] + "\\Bigr)" + m.group(2)]
    pieces = _pieces(latex)
    if len(pieces) == 1:
        return _inside(latex, budget, indent)
    lines, current = [], ""
    for piece in pieces:
        room = budget - (indent if lines else 0.0)
        if current and width(current + piece) > room:
            lines.append(current.rstrip())
            current = piece
        else:
            current += piece
        if width(current) > room:        # one term too wide alone: broken inside its parentheses
            *done, current = _inside(current, room, indent)
            lines += [line.rstrip() for line in done]
    lines.append(current.rstrip())
    return lines


def _inside(term: str, budget: float, indent: float) -> list[str]:
    """One term broken inside its widest top-level ``\\left( ... \\right)`` group, which
    becomes ``\\Bigl( ... \\Bigr)`` across lines: ``(A + B) ⊘ s`` as ``(A`` / ``+ B) ⊘ s``.
    The term as one line when no group splits."""
    if term.startswith("\\frac{"):        # \\frac{A}{2}: written 1/2 A, so that A can break
        top, i = _group(term, 5)
        bottom, j = _group(term, i)
        if width(bottom) <= 3 and j < len(term) + 1 and width(top) > budget:
            lines = _inside("\\frac{1}{" + bottom + "} " + top + term[j:], budget, indent)
            if len(lines) > 1:
                return lines
    groups, depth, start, braces = [], 0, None, 0
    for i in range(len(term)):
        braces += {"{": 1, "}": -1}.get(term[i], 0)
        if braces:                 # inside \\frac{...}{...} or a subscript: a line cannot break there
            continue
        if term.startswith("\\left(", i):
            if depth == 0:
                start = i
            depth += 1
        elif term.startswith("\\right)", i) or term.startswith("\\right.", i):
            depth -= 1
            if depth == 0 and start is not None:
                groups.append((start, i))
        elif term.startswith("\\left", i):
            depth += 1
        elif term.startswith("\\right", i):
            depth -= 1
    for a, b in sorted(groups, key=lambda g: g[0] - g[1]):     # the widest first
        head, inner, tail = term[:a], term[a + 6:b], term[b + 7:]
        lines = split(inner, budget - max(width(head), width(tail)) - 7.0, indent)   # (4: \\Bigl, \\Bigr, room)
        if len(lines) > 1:
            return [head + "\\Bigl(" + lines[0]] + lines[1:-1] + [lines[-1] + "\\Bigr)" + tail]
    return _factors(term, budget, indent)


def _factors(term: str, budget: float, indent: float) -> list[str]:
    """A product too wide for a line, broken between its factors (at spaces outside
    every group), a continuation line starting with ``\\times``: an index-notation
    term ``Σ_i Σ_j ∂J/∂L_ij (L⁻¹)_jq ...`` of many factors."""
    cuts, depth, braces = [], 0, 0
    for i, ch in enumerate(term):
        braces += {"{": 1, "}": -1}.get(ch, 0)
        if term.startswith("\\left", i):
            depth += 1
        elif term.startswith("\\right", i):
            depth -= 1
        elif ch == " " and not depth and not braces and i and term[i + 1:i + 2] not in ("", "+", "-", "&") \
                and not term.startswith("\\\\", i + 1) and not term.startswith("\\otimes", i + 1) \
                and not term[:i].endswith("\\otimes"):     # A ⊗ B is one factor
            cuts.append(i)
    lines, start = [], 0
    for a, b in zip([0] + cuts, cuts + [len(term)]):
        room = budget - (indent + 2.0 if lines else 0.0)
        if width(term[start:b]) > room and a > start:
            lines.append(term[start:a])
            start = a + 1
    lines.append(term[start:])
    return [lines[0]] + ["\\times " + line for line in lines[1:]]


def _outer_close(inner: str) -> str:
    """The part of ``inner`` where a \\right) would close the outer \\left( early:
    non-empty when the outer parentheses are not one pair (``(a) + (b)``)."""
    depth = 0
    for i in range(len(inner)):
        if inner.startswith("\\left", i):
            depth += 1
        elif inner.startswith("\\right", i):
            depth -= 1
            if depth < 0:
                return inner[i:]
    return ""
