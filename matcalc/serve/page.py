"""The page's side of a derivation: its fields as one expr.yaml, the derivation
as the page shows it, and an error put back in the field it came from.

The page has four fields (Expression, Symbols, Dims, With respect to) and an
order.  Dims on one line (``n: 3, m: 2``) is a mapping, as with braces.  :func:`compose` writes them into one expr.yaml text, each field's lines
indented under its key, so matcalc reads them exactly as it reads a file (and
its errors carry a line and a column); :func:`placed` turns such a line and
column back into the field's own:

>>> doc = compose({"expr": "x @ A @ x", "symbols": "x: {shape: [n]}", "dims": "n: 3, m: 2", "wrt": "x"})
>>> print(doc.text, end="")
dims:
  {n: 3, m: 2}
symbols:
  x: {shape: [n]}
expr: |2-
  x @ A @ x
wrt: [x]
order: 1
>>> doc.field_of(6, 9)          # line 6, column 9 of the text: the Expression's 1:7
('expr', 1, 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import Location, MatcalcError, SpecError, YamlError

# (field, its key in expr.yaml, its label on the page)
FIELDS = (("dims", "Dims"), ("symbols", "Symbols"), ("expr", "Expression"), ("wrt", "With respect to"))
MAX_FIELD = 500_000      # characters of one field (the expression's own limit)


@dataclass
class Composed:
    """The expr.yaml text of the fields, and where each field's lines are in it:
    ``spans[field] = (first line, last line, columns added before the field's text)``
    (1-based lines; the key's own line counts as the field's)."""

    text: str
    spans: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def field_of(self, line: int | None, column: int | None) -> tuple[str | None, int, int | None]:
        """The field, and the line and column in it, of a place in :attr:`text`
        (line 0: the field's key line, outside the text typed)."""
        for name, (first, last, indent) in self.spans.items():
            if line is not None and first <= line <= last:
                inner = line - first + (1 if name == "wrt" else 0)
                return name, inner, None if column is None or inner == 0 else max(1, column - indent)
        return None, 0, None

    def end_before(self, name: str) -> tuple[str | None, int, int | None]:
        """The last line of the field before ``name``: a YAML error reported at a
        key's line (an unclosed ``{`` runs on to the next key) is made there."""
        names = list(self.spans)
        if names.index(name) == 0:
            return name, 0, None
        before = names[names.index(name) - 1]
        first, last, _ = self.spans[before]
        return before, last - first, None    # (the caret goes after its last character)


def compose(fields: dict) -> Composed:
    """One expr.yaml text from the page's fields (strings; ``order`` 1 or 2)."""
    texts = {}
    for name, label in FIELDS:
        value = fields.get(name, "")
        if not isinstance(value, str):
            raise SpecError(f"the {label} field must be text, not {type(value).__name__}")
        if len(value) > MAX_FIELD:
            raise SpecError(f"the {label} field is {len(value):,} characters; the limit is {MAX_FIELD:,}")
        texts[name] = value.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    order = fields.get("order", 1)
    if order not in (1, 2, "1", "2"):
        raise SpecError(f"order must be 1 or 2, not {order!r}")
    lines: list[str] = []
    spans: dict[str, tuple[int, int, int]] = {}
    for name, head in (("dims", "dims:"), ("symbols", "symbols:"), ("expr", "expr: |2-")):
        if name == "dims" and not texts[name].strip():
            continue                                 # no dims: matcalc's default sizes
        first = len(lines) + 1
        lines.append(head)
        if name == "dims" and "\n" not in texts[name] and "{" not in texts[name]:
            lines.append("  {" + texts[name] + "}")     # one line, n: 4, m: 3: a flow mapping
            spans[name] = (first, len(lines), 3)
            continue
        lines += ["  " + line for line in texts[name].split("\n")]
        spans[name] = (first, len(lines), 2)
    if texts["wrt"].strip():
        lines.append(f"wrt: [{texts['wrt']}]")        # (a newline in it is a YAML error, placed there)
        spans["wrt"] = (len(lines), len(lines) + texts["wrt"].count("\n"), len("wrt: ["))
    lines.append(f"order: {int(order)}")
    return Composed("\n".join(lines) + "\n", spans)


def placed(err: MatcalcError, doc: Composed) -> dict:
    """The error as the page shows it: the JSON error object (message, line,
    column, hint, ...), with ``field`` and the line and column in that field, and
    ``text``, the CLI's block (message, place, caret, hint) drawn in the field."""
    out = err.as_dict()
    where = err.location or Location()
    name, line, column = doc.field_of(where.line, where.column)
    if name is None and (where.path or "").startswith("expr"):
        name, line, column = "expr", 1, None
    source, start, end = where.source, where.caret_start, where.caret_end
    if name is not None and line == 0 and isinstance(err, YamlError):
        name, line, column = doc.end_before(name)      # at the end of the field before
        if line:
            source = doc.text.split("\n")[doc.spans[name][0] + line - 1]
            start = end = len(source)
            column = len(source) - doc.spans[name][2] + 1
    if name is None:
        out.update(field=None, text=err.render())
        return out
    indent = doc.spans[name][2]
    if line == 0 or source is None or where.line is None:     # no line of the field to show
        source = start = end = None
    else:
        source = source[indent:-1] if name == "wrt" else source[indent:]
        start = None if start is None else max(0, start - indent)
        end = None if end is None else max(1, end - indent)
    shown = type(err)(err.message, hint=err.hint, location=replace(
        where, file=dict(FIELDS)[name], line=line or None, column=column, source=source,
        caret_start=start, caret_end=end))
    out.update(field=name, line=line or None, column=column, text=shown.render())
    return out


def blocks(derivation) -> list[dict]:
    """The derivation's document (:func:`matcalc.render.document.build`) as JSON
    for the page's script: text and MathML pieces, no markup of the user's."""
    from ..render.document import Math, build
    from .mathml import to_mathml

    def parts(items) -> list[dict]:
        return [{"math": to_mathml(p.latex)} if isinstance(p, Math) else {"text": p} for p in items]

    def math(m) -> str:
        return to_mathml(m.latex) if m is not None else ""

    out: list[dict] = []
    for b in build(derivation):
        if b.kind in ("section", "text", "user"):
            out.append({"kind": b.kind, "parts": parts(b.parts)})
        elif b.kind == "code":
            out.append({"kind": "code", "label": b.parts[0], "code": b.parts[1]})
        elif b.kind == "math":
            out.append({"kind": "math", "rows": [
                {"lhs": math(lhs), "rhs": math(rhs), "note": math(note),
                 "member": note is not None and note.latex.startswith("\\mathbb")}
                for lhs, rhs, note in b.parts]})
        elif b.kind == "result":
            lhs, rhs, shape = b.parts
            out.append({"kind": "result", "lhs": math(lhs), "rhs": math(rhs), "shape": math(shape)})
    return out
