"""A problem written inline: ``-e``/``-s``/``--wrt`` on the command line, or keyword
symbols in Python (``matcalc.derive("x @ A @ x", x="[n]", A="[n, n] symmetric")``).

Both become the expr.yaml document as data (:attr:`Inline.document`), which
:mod:`matcalc.spec` checks as it checks a file, so the output is the file's.
Every piece of the document remembers the option text it came from
(:class:`Span`), so that an error found in it points there:

>>> s = from_options("sum(X)", ["X: [n, m] positive"])
>>> s.document["symbols"], s.document["dims"]
({'X': {'shape': ['n', 'm'], 'props': ['positive']}}, ['n', 'm'])
>>> print(s.spans["symbols.X.props[0]"].place().header())
-s, column 11

A symbol is written ``NAME: SHAPE PROPS...`` (``-s``) or ``SHAPE PROPS...`` (a
keyword's value): the shape as in expr.yaml (``[]``, ``[n]``, ``[n, m]``,
``[p*r, n+1]``), then props separated by spaces or commas.  The dimension names
of the shapes are the document's ``dims`` (sizes: ``--dim n=5``, the others the
default small primes, as for ``dims: [n, m]``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Location, MatcalcError, SpecError, excerpt
from .shapes import default_sizes

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEAD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
# the help of matcalc derive's options for an inline problem
HELP = {
    "expr": "Derive this expression instead of a FILE; declare its symbols with -s.",
    "symbols": "A symbol of -e, as in expr.yaml: -s 'X: [n, m]', -s 'A: [n, n] symmetric', -s 'lam: []' "
               "(one -s each; props after the shape).",
    "dims": "With -e: the size of a dimension of the shapes in the check (default: small primes).",
    "wrt": "With -e: differentiate w.r.t. these symbols (repeat it, or X,A; default: every one that is not "
           "constant).",
    "order": "With -e: 1 gradient (default), 2 Hessian.",
    "let": "With -e: a named intermediate (repeat, in order).",
    "domain": "With -e: where the expression is defined, every entry of EXPR > 0 (repeat).",
    "mixed": "With -e and --order 2: the mixed second derivatives too.",
    "name": "With -e: its name (default: expr).",
    "save": "With -e: also write the equivalent expr.yaml (an existing file is kept unless --force).",
    "force": "Let --save replace an existing file.",
}
SYMBOL_FORM = "NAME: SHAPE [PROPS], such as -s 'X: [n, m]' or -s 'A: [n, n] symmetric'"


@dataclass(frozen=True)
class ArgumentPlace(Location):
    """A place in an option's text (``file`` is the option, ``-s``): no line, a column."""

    def header(self) -> str:
        return f"{self.file}, column {self.column}" if self.column is not None else str(self.file)


@dataclass(frozen=True)
class Span:
    """Where a value of the document was written: ``text[start:end]`` of option ``label``."""

    label: str
    text: str
    start: int
    end: int

    @property
    def value(self) -> str:
        return self.text[self.start:self.end]

    def place(self, start: int = 0, end: int | None = None) -> ArgumentPlace:
        """The place of ``value[start:end]`` (all of it by default), its line of the text shown."""
        a = self.start + start
        b = self.end if end is None else self.start + max(end, start + 1)
        first = self.text.rfind("\n", 0, a) + 1
        last = self.text.find("\n", a)
        last = len(self.text) if last < 0 else last
        return ArgumentPlace(file=self.label, column=a - first + 1, source=self.text[first:last],
                             caret_start=a - first, caret_end=min(b, last + 1) - first)


def fail(message: str, span: Span, start: int = 0, end: int | None = None, hint: str | None = None):
    raise SpecError(message, location=span.place(start, end), hint=hint)


@dataclass
class Inline:
    """The expr.yaml document an inline problem stands for, and where each value was written."""

    document: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)   # a file's hint -> the inline one
    dims: dict[str, Any] = field(default_factory=dict)    # name -> size (None: the default size)

    # -- building ---------------------------------------------------------------------

    def symbol(self, span: Span, name: str | None = None) -> None:
        """``NAME: SHAPE PROPS`` (``name`` None) or, with the name given, ``SHAPE PROPS``."""
        text, at = span.value, 0
        if name is None:
            head = _HEAD.match(text)
            if head is None or text[head.end():head.end() + 1] != ":":
                fail("a symbol is written " + SYMBOL_FORM.split(", such")[0], span,
                     hint="for example " + SYMBOL_FORM.split("such as ")[1])
            name, name_at, at = head.group(1), head.start(1), head.end() + 1
        else:
            name_at = None
        if name in self.document.setdefault("symbols", {}):
            fail(f"{name} is declared twice", span, name_at or 0, (name_at or 0) + len(name),
                 "declare each symbol once")
        path = f"symbols.{name}"
        self.spans.setdefault("symbols", span)      # (a complaint about them all: the first -s)
        self.spans[path] = Span(span.label, span.text, span.start + (name_at or 0),
                                span.start + (name_at + len(name) if name_at is not None else len(text)))
        shape, at = self._shape(span, path, name, at)
        entry: dict[str, Any] = {"shape": shape}
        props = [(m.group(), m.start()) for m in re.finditer(r"[^\s,]+", text[at:])]
        if props:
            entry["props"] = [p for p, _ in props]
            for i, (p, start) in enumerate(props):
                self.spans[f"{path}.props[{i}]"] = _sub(span, at + start, at + start + len(p))
            self.spans[f"{path}.props"] = _sub(span, at + props[0][1], at + props[-1][1] + len(props[-1][0]))
        self.document["symbols"][name] = entry
        self.dims_of(shape)

    def dims_of(self, shape) -> None:
        """The dimension names a shape's entries use (``p*r``: p and r), at the default size."""
        for item in shape if isinstance(shape, (list, tuple)) else ():
            for dim in WORD.findall(item) if isinstance(item, str) else ():
                self.dims.setdefault(dim, None)

    def _shape(self, span: Span, path: str, name: str, at: int) -> tuple[list, int]:
        """The ``[n, m]`` at ``at`` of the span's value: its entries, and where the props start."""
        text = span.value
        open_at = len(text) - len(text[at:].lstrip()) if text[at:].strip() else len(text)
        if text[open_at:open_at + 1] != "[":
            fail(f"the shape of {name} must be a list such as [n, m]", span, open_at, open_at + 1,
                 "write [] for a scalar, [n] for a vector, [n, m] for a matrix, then any props")
        close = text.find("]", open_at)
        if close < 0:
            fail(f"the shape of {name} has no closing ]", span, open_at, open_at + 1, "close it: [n, m]")
        self.spans[f"{path}.shape"] = _sub(span, open_at, close + 1)
        inner = text[open_at + 1:close]
        items: list = []
        if inner.strip():
            start = open_at + 1
            for i, piece in enumerate(inner.split(",")):
                stripped = piece.strip()
                lead = start + len(piece) - len(piece.lstrip())
                if not stripped:
                    fail(f"an empty dimension in the shape of {name}", span, lead, lead + 1,
                         "write the dimensions separated by commas: [n, m]")
                self.spans[f"{path}.shape[{i}]"] = _sub(span, lead, lead + len(stripped))
                items.append(int(stripped) if stripped.isdigit() else stripped)
                start += len(piece) + 1
        return items, close + 1

    def dim(self, span: Span) -> None:
        """``n=5`` (also ``n: 5``; several separated by commas)."""
        for m in re.finditer(r"[^,]+", span.value):
            item = m.group()
            head = _HEAD.match(item)
            if head is None or item[head.end():head.end() + 1] not in ("=", ":"):
                fail("a dimension is written NAME=SIZE", span, m.start(), m.end(), "for example --dim n=64")
            raw = item[head.end() + 1:]
            value = raw.strip()
            at = m.start() + head.end() + 1 + len(raw) - len(raw.lstrip())
            self.dims[head.group(1)] = int(value) if re.fullmatch(r"[+-]?\d{1,9}", value) else value
            self.spans[f"dims.{head.group(1)}"] = _sub(span, at, at + max(len(value), 1))

    def names(self, key: str, span: Span) -> None:
        """``--wrt X,A`` (commas or spaces), one span per name, in the list ``key``."""
        items = self.document.setdefault(key, [])
        for m in re.finditer(r"[^\s,]+", span.value):
            self.spans[f"{key}[{len(items)}]"] = _sub(span, m.start(), m.end())
            items.append(m.group())
        self.spans.setdefault(key, span)

    def let(self, span: Span) -> None:
        """``Z = X @ W`` (also ``Z: X @ W``): one named intermediate."""
        head = _HEAD.match(span.value)
        if head is None or span.value[head.end():head.end() + 1] not in ("=", ":"):
            fail("a named intermediate is written NAME = EXPR", span, hint="for example --let 'Z = X @ W'")
        rest = span.value[head.end() + 1:]
        at = head.end() + 1 + len(rest) - len(rest.lstrip())
        self.expression(f"let.{head.group(1)}", _sub(span, at, len(span.value.rstrip())),
                        ("let", head.group(1)))

    def expression(self, path: str, span: Span, key: tuple = ("expr",)) -> None:
        """An expression's text at ``path`` (``expr``, ``let.Z``, ``domain[0]``); text on
        several lines is trimmed, as spec trims it."""
        value = span.value
        if "\n" in value:
            lead = len(value) - len(value.lstrip())
            span = _sub(span, lead, lead + len(value.strip()))
        self.spans[path] = span
        if len(key) == 1:
            self.document[key[0]] = span.value
        else:
            self.document.setdefault(key[0], {})[key[1]] = span.value

    def finish(self) -> Inline:
        """Dimension sizes: as ``dims: [n, m]`` gives them, or all written out with ``--dim``."""
        if not self.document.get("symbols"):
            raise SpecError("no symbols are declared", location=self.spans["expr"].place(),
                            hint=self.hints.get("no symbols"))
        if self.dims and all(v is None for v in self.dims.values()):
            self.document["dims"] = list(self.dims)
        elif self.dims:
            explicit = [v for v in self.dims.values() if v is not None]
            free = (p for p in default_sizes() if p not in explicit)
            self.document["dims"] = {k: v if v is not None else next(free) for k, v in self.dims.items()}
        order = ("name", "description", "dims", "symbols", "let", "expr", "domain", "wrt", "order", "mixed")
        self.document = {k: self.document[k] for k in order if k in self.document}
        return self

    # -- errors -----------------------------------------------------------------------

    def relocated(self, err: MatcalcError) -> MatcalcError:
        """``err`` pointing into the option text its value came from (a file's error
        names a key path: ``symbols.X.shape[1]``), with the inline hint."""
        loc = err.location
        if loc is None or isinstance(loc, ArgumentPlace) or loc.file is not None:
            return err
        span, exact = self._span(loc.path)
        if span is None:
            return err
        if exact and loc.line is not None and loc.caret_start is not None:   # inside an expression
            lines = span.value.split("\n")
            before = sum(len(x) + 1 for x in lines[:loc.line - 1])
            place = span.place(before + loc.caret_start, before + (loc.caret_end or loc.caret_start + 1))
        else:
            place = span.place()
        out = copy.copy(err)
        out.location = place
        out.hint = self.hints.get(err.hint or "", err.hint)
        return out

    def _span(self, path: str | None) -> tuple[Span | None, bool]:
        """The span of ``path``, or of the nearest enclosing value (``wrt[0]`` -> ``wrt``)."""
        exact = True
        while path:
            if path in self.spans:
                return self.spans[path], exact
            shorter = re.sub(r"(\[\d+\]|\.[^.\[]+)$", "", path)
            path, exact = shorter if shorter != path else "", False
        return self.spans.get("expr"), False


def _sub(span: Span, start: int, end: int) -> Span:
    return Span(span.label, span.text, span.start + start, span.start + end)


def whole(label: str, text: str) -> Span:
    return Span(label, text, 0, len(text))


# the hints of a file's errors, as an inline problem says them
CLI_HINTS = {
    "declare it under symbols: (or dims:)": "declare it with -s 'NAME: SHAPE' (a dimension: --dim NAME=SIZE, "
                                            "or use it in a shape)",
    "declare it under symbols:": "declare it with -s 'NAME: SHAPE'",
    "no symbols": "declare each symbol of the expression with -s, e.g. -s 'X: [n, m]'",
}


def from_options(expr: str, symbols: list[str], dims: list[str] = (), wrt: list[str] = (),
                 order: int | None = None, let: list[str] = (), domain: list[str] = (),
                 name: str | None = None, mixed: bool = False) -> Inline:
    """The document of ``matcalc derive -e EXPR -s SYMBOL ...`` (each list: the
    option's values in the order given)."""
    out = Inline(hints=CLI_HINTS)
    for text in symbols:
        out.symbol(whole("-s", text))
    for text in dims:
        out.dim(whole("--dim", text))
    out.document["name"] = name if name is not None else "expr"     # written out by --save: its JSON's name
    if name is not None:
        out.spans["name"] = whole("--name", name)
    for text in let:
        out.let(whole("--let", text))
    out.expression("expr", whole("-e", expr))
    for i, text in enumerate(domain):
        out.document.setdefault("domain", []).append(None)
        out.expression(f"domain[{i}]", whole("--domain", text), ("domain", i))
    for text in wrt:
        out.names("wrt", whole("--wrt", text))
    if order is not None:
        out.document["order"] = order
        out.spans["order"] = whole("--order", str(order))
    if mixed:
        out.document["mixed"] = True
    return out.finish()


# -- the equivalent expr.yaml ----------------------------------------------------------

def to_yaml(document: dict[str, Any]) -> str:
    """The document as the expr.yaml a person would write (read back, it is the same data):

    >>> print(to_yaml({"dims": ["n"], "symbols": {"A": {"shape": ["n", "n"], "props": ["spd"]}},
    ...                "expr": "logdet(A)", "wrt": ["A"]}), end="")
    dims: [n]
    symbols:
      A: {shape: [n, n], props: [spd]}
    expr: logdet(A)
    wrt: [A]
    """
    lines = []
    for key, value in document.items():
        if key in ("symbols", "let") or (key == "dims" and isinstance(value, dict)):
            lines.append(f"{key}:")
            lines += [f"  {_scalar(k, True)}: {_block(v)}" for k, v in value.items()]
        elif key == "domain":
            lines.append(f"{key}:")
            lines += [f"  - {_scalar(v)}" for v in value]
        else:
            lines.append(f"{key}: {_block(value)}")
    return "\n".join(lines) + "\n"


def _block(value: Any) -> str:
    """A value after ``key: `` on its line: a text as it is, a list or mapping in flow style."""
    return _flow(value) if isinstance(value, (dict, list)) else _scalar(value)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k, True)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value, True)


def _scalar(value: Any, flow: bool = False) -> str:
    """Plain where YAML reads it back as the same value (``X.T @ A``; inside ``[...]`` when
    ``flow``); double-quoted otherwise (``'fro'``, ``x: y``, ``[n]``, ``#``, ``true``)."""
    import json

    from .yamlsource import read_yaml

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text == text.strip() and "\n" not in text and not re.search(r"[\x00-\x1f\x7f]", text):
        try:
            if flow:
                read = read_yaml(f"k: [{text}]")[0].value["k"].value
                read = read[0].value if len(read) == 1 else None
            else:
                read = read_yaml(f"k: {text}")[0].value["k"].value
            if read == text:
                return text
        except MatcalcError:
            pass
    return json.dumps(text, ensure_ascii=False)


def from_command(files: list, expr: str | None, save: str | None, **options: Any) -> Inline | None:
    """The inline problem of ``matcalc derive`` (None when it reads FILEs): ``-e`` and
    files are one or the other; the options of an expression need ``-e``.  ``options``
    are :func:`from_options`'s, as the command line gave them (None when not given)."""
    from .errors import InputError

    given = [k for k, v in options.items() if v not in (None, [], False)] + (["save"] if save else [])
    flag = {"symbols": "-s", "dims": "--dim", "save": "--save"}
    if expr is None and given:
        raise InputError(f"{flag.get(given[0], '--' + given[0])} goes with an expression given with -e",
                         hint="an expr.yaml file says it itself (symbols:, dims:, wrt:, ...)" if files else
                         "add the expression: -e 'x @ A @ x'")
    if expr is None and not files:
        raise InputError("give an expr.yaml file, or an expression with -e",
                         hint="matcalc derive model.yaml, or matcalc derive -e 'x @ A @ x' -s 'x: [n]' "
                              "-s 'A: [n, n]' (matcalc derive --help has more)")
    if expr is not None and files:
        raise InputError(f"give either expr.yaml files or -e, not both (got {excerpt(str(files[0]))} and -e)",
                         hint="derive the file and the expression one at a time")
    if expr is None:
        return None
    return from_options(expr, **{k: v if v is not None else () for k, v in options.items()
                                 if k not in ("order", "name", "mixed")},
                        order=options.get("order"), name=options.get("name"), mixed=bool(options.get("mixed")))
