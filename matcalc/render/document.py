"""The derivation as a document: one structure (:mod:`matcalc.render.blocks`),
three renderings (terminal, LaTeX, Markdown).  A printer takes a finished
Derivation as data.
"""

from __future__ import annotations

import re

from ..version import __version__
from .blocks import Block, Math, build, fact_text
from .layout import NOTE_GAP, TEXT_UNITS, split, width

__all__ = ["Block", "Math", "build", "fact_text", "markdown_text", "to_console_lines", "to_latex_document",
           "to_markdown"]


# -- renderers ---------------------------------------------------------------------

def _plain(parts, latex: bool) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(f"${p.latex}$" if latex else p.unicode)
        else:
            out.append(_escape(p) if latex else p)
    return "".join(out)


def _escape(text: str) -> str:
    """Text for LaTeX: every special character printed as itself, character by
    character (the description is the user's: ``C:\\Users``, ``50%``, ``$x$``, ``{}``);
    control characters, which pdflatex refuses, become spaces."""
    return "".join(LATEX_TEXT.get(ch, ch if ch.isprintable() or ch == "\n" else " ") for ch in text)


LATEX_TEXT = {"\\": "\\textbackslash{}", "^": "\\textasciicircum{}", "~": "\\textasciitilde{}",
              **{ch: "\\" + ch for ch in "&%$#_{}"},
              "∂": "$\\partial$", "δ": "$\\delta$", "Σ": "$\\Sigma$",
              "⊗": "$\\otimes$", "⊙": "$\\odot$", "∘": "$\\circ$", "λ": "$\\lambda$", "σ": "$\\sigma$",
              "ᵀ": "$^T$", "⁻": "$^-$", "¹": "$^1$", "²": "$^2$", "≤": "$\\le$", "≥": "$\\ge$",
              "∇": "$\\nabla$", "×": "$\\times$", "·": "$\\cdot$", "−": "-"}


def markdown_text(text: str) -> str:
    """Text for Markdown, shown as written: no HTML (``<script>`` is ``&lt;script&gt;``),
    no emphasis, links, code or ``$`` math, one line (no heading, list or code block
    made by a line break)."""
    text = " ".join(text.split()) if "\n" in text else text
    text = "".join(MD_TEXT.get(ch, ch if ch.isprintable() else " ") for ch in text)
    return re.sub(r"^(\s*)(\d*)([-+=.)])", r"\1\2\\\3", text)   # "- x", "1. x": not a list


MD_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{ch: "\\" + ch for ch in "\\`*_[]#$|~!"}}


def to_console_lines(blocks: list[Block], width: int = 80) -> list[tuple[str, str]]:
    """(style, line) pairs for the terminal."""
    out: list[tuple[str, str]] = []
    for b in blocks:
        if b.kind == "title":
            continue
        if b.kind == "section":
            out += [("", ""), ("bold", _plain(b.parts, False))]
        elif b.kind in ("text", "user"):
            for line in _wrap(_plain(b.parts, False), width - 2):
                out.append(("", "  " + line))
        elif b.kind == "code":
            # a long line of code continues under itself, so it fits the terminal
            lines = _wrap(b.parts[1], width - 2 - len(b.parts[0]))
            out.append(("dim", "  " + b.parts[0] + lines[0]))
            out += [("dim", " " * (2 + len(b.parts[0])) + line) for line in lines[1:]]
        elif b.kind in ("math", "result"):
            rows = b.parts if b.kind == "math" else (b.parts,)
            lhs_width = max(len(r[0].unicode) for r in rows)
            for lhs, rhs, note in rows:
                head = f"    {lhs.unicode.ljust(lhs_width)} = "
                tail = ""
                if note is not None and note.unicode:
                    tail = f"   {note.unicode}" if note.unicode.startswith("[") else f"   ({note.unicode})"
                style = "bold green" if b.kind == "result" else ""
                for n, line in enumerate(_wrap(rhs.unicode + tail, width - len(head))):
                    out.append((style, (head if n == 0 else " " * len(head)) + line))
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Break at spaces (preferring before + and −) to fit the width."""
    if len(text) <= width:
        return [text]
    lines, current = [], ""
    for token in re.split(r"(?<=\S) (?=[+−=]|\S)", text):
        candidate = f"{current} {token}" if current else token
        if len(candidate) > width and current:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _split_latex(latex: str, limit: float = TEXT_UNITS - 12) -> str:
    """Break a long right-hand side before top-level + and - signs, for align
    (continuation lines start at the alignment point, indented by a quad)."""
    return CONTINUE.join(split(latex, limit * 0.95))     # (the width is an estimate: 5% to spare)


CONTINUE = " \\\\\n  &\\quad "


def _human(name: str) -> str:
    """``softmax_regression -> Softmax regression``: the title a reader sees."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _tt(text: str) -> str:
    """Typewriter text that may break after commas and operators' spaces."""
    return _escape(text).replace(", ", ",\\allowbreak{} ")


def _boxed(lhs: str, rhs: str, budget: float) -> str:
    """A boxed result; a long right-hand side is split over lines inside the box."""
    lines = split(rhs, budget)
    if len(lines) == 1:
        return f"\\boxed{{{lhs} = {rhs}}}"
    body = " \\\\\n  &\\quad{} ".join(lines)
    return f"\\boxed{{\\begin{{aligned}} {lhs} &= {body}\\end{{aligned}}}}"


def to_latex_document(derivations: list, *, figures: bool = True) -> str:
    """A complete LaTeX document (amsmath) for one or more derivations."""
    title = derivations[0].problem.name if len(derivations) == 1 else "Derivations"
    out = ["\\documentclass[11pt]{article}",
           "\\usepackage[T1]{fontenc}",
           "\\usepackage{amsmath,amssymb}",
           "\\sloppy",     # a paragraph of long rule names breaks between them, not past the margin
           "\\setlength{\\textwidth}{15cm}\\setlength{\\oddsidemargin}{0.46cm}",
           "\\setlength{\\evensidemargin}{0.46cm}\\setlength{\\parindent}{0pt}\\setlength{\\parskip}{0.6em}",
           "\\setlength{\\topmargin}{-1.2cm}\\setlength{\\textheight}{23cm}",
           "\\begin{document}",
           "\\begin{center}",
           f"  {{\\Large\\bfseries {_escape(_human(title))}}}\\\\[0.4em]",
           f"  {{\\small\\texttt{{{_escape(title)}}} --- derived by matcalc {__version__}}}",
           "\\end{center}"]
    for d in derivations:
        blocks = build(d, figures=figures)
        for b in blocks:
            if b.kind == "title":
                if len(derivations) > 1:
                    out.append(f"\\section{{{_escape(_human(b.parts[0]))}}}")
            elif b.kind == "section":
                out.append(("\\subsection*{" if len(derivations) > 1 else "\\section*{") + _plain(b.parts, True) + "}")
            elif b.kind in ("text", "user"):
                out.append(_plain(b.parts, True))
                out.append("")
            elif b.kind == "code":
                # ragged right: a typewriter line cannot stretch, so justified it overflows
                out.append("{\\raggedright " + _escape(b.parts[0]) + "\\texttt{" + _tt(b.parts[1]) + "}\\par}")
                out.append("")
            elif b.kind == "math":
                rows, notes = [], []
                for lhs, rhs, note in b.parts:
                    tail = f"{note.latex}" if note is not None and note.latex else ""
                    if note is not None and note.latex.startswith("\\mathbb"):
                        tail = f"\\in {note.latex}"
                    notes.append(tail)
                # the columns are as wide as their widest entry, in every row
                lhs_w = max(width(r[0].latex) for r in b.parts)
                note_w = max((width(t) + NOTE_GAP for t in notes if t), default=0.0)
                budget = TEXT_UNITS - lhs_w - 2.4 - note_w
                for (lhs, rhs, _), tail in zip(b.parts, notes):
                    rows.append(f"  {lhs.latex} &= {_split_latex(rhs.latex, budget)}" + (f" && {tail}" if tail else ""))
                out += ["\\begin{align*}", " \\\\\n".join(rows), "\\end{align*}"]
            elif b.kind == "result":
                lhs, rhs, shape = b.parts
                budget = TEXT_UNITS - width(lhs.latex) - 2.4 - width(shape.latex) - 5.0
                out += ["\\begin{equation*}", f"  {_boxed(lhs.latex, rhs.latex, budget)} \\in {shape.latex}",
                        "\\end{equation*}"]
    out.append("\\end{document}")
    return "\n".join(out) + "\n"


def to_markdown(derivations: list, *, figures: bool = True) -> str:
    """The same derivation with $$ math, for GitHub and Jupyter."""
    out: list[str] = []
    for d in derivations:
        for b in build(d, figures=figures):
            if b.kind == "title":
                out += [f"# {_human(b.parts[0])}", "", f"`{b.parts[0]}` — derived by matcalc {__version__}", ""]
            elif b.kind == "section":
                out += ["## " + _md_inline(b.parts), ""]
            elif b.kind == "text":
                out += [_md_inline(b.parts), ""]
            elif b.kind == "user":
                out += [markdown_text(b.parts[0]), ""]
            elif b.kind == "code":
                out += [f"{b.parts[0]}`{b.parts[1]}`", ""]
            elif b.kind == "math":
                rows = []
                for lhs, rhs, note in b.parts:
                    tail = ""
                    if note is not None and note.latex:
                        tail = f" \\quad \\in {note.latex}" if note.latex.startswith("\\mathbb") \
                            else f" \\quad {note.latex}"
                    rows.append(f"{lhs.latex} &= {rhs.latex}{tail}")
                out += ["$$", "\\begin{aligned}", " \\\\\n".join(rows), "\\end{aligned}", "$$", ""]
            elif b.kind == "result":
                lhs, rhs, shape = b.parts
                out += ["$$", f"\\boxed{{{lhs.latex} = {rhs.latex}}} \\in {shape.latex}", "$$", ""]
    return "\n".join(out)


def _md_inline(parts) -> str:
    """Math as $...$, text with Markdown's inline specials escaped (a check's sentence
    may quote code; the steps' "1." stays a numbered list)."""
    return "".join(f"${p.latex}$" if isinstance(p, Math) else "".join(MD_TEXT.get(ch, ch) for ch in p)
                   for p in parts)
