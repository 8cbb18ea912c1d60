"""expr.yaml -> :class:`Problem` (dims, symbols, props, expr, wrt, order).

The YAML is read by :mod:`matcalc.yamlsource` (safe, with positions); this
module checks what it says.  Every complaint names the file and line of the
offending value and, where it is knowable, the fix.
"""

from __future__ import annotations

import difflib
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import dimexpr, ir
from .errors import ExprSyntaxError, Location, ShapeError, SpecError, excerpt, shown
from .letspec import Let, declared_dim, named_expr, wrt_not_let
from .letspec import kind as _kind
from .ops import CALLABLE
from .parse import parse
from .props import CONFLICTS, PROPS, closure
from .shapes import Shape, ShapeMismatch, default_sizes, show
from .yamlsource import MAX_FILE_BYTES, Node, Source, read_source, read_yaml  # noqa: F401

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DOC_KEYS = ("name", "description", "dims", "symbols", "let", "expr", "wrt", "order", "mixed", "domain")
SYMBOL_KEYS = ("shape", "props")
MAX_DIM = 100_000
MAX_NAME = 100


@dataclass(frozen=True)
class Problem:
    """One derivation asked for: what the user wrote, checked and typed."""

    name: str
    expr_text: str
    expr: ir.Expr
    dims: dict[str, int]
    symbols: dict[str, ir.Symbol]
    wrt: tuple[str, ...]
    order: int = 1
    mixed: bool = False                   # order 2: also every pair's mixed second derivative
    description: str = ""
    file: str | None = None
    line: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # where the expression is defined: each g with every entry of g > 0 (`b - A @ x > 0` is b - A @ x)
    domain: tuple[ir.Expr, ...] = ()
    domain_text: tuple[str, ...] = ()
    where: Location | None = field(default=None, compare=False, repr=False)   # the whole expression
    let: tuple[Let, ...] = ()             # the named intermediates (letspec.py); expr has them put back in
    expr_named: ir.Expr | None = None     # the expression as written, in the let names


# -- validation --------------------------------------------------------------

class _Checker:
    def __init__(self, source: Source):
        self.source = source

    def fail(self, message: str, node: Node | None, hint: str | None = None, what: str | None = None):
        raise SpecError(message, location=self.source.at(node, what), hint=hint)

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
        if not isinstance(node.value, dict):
            self.fail(f"{what} must be a mapping (key: value lines), not {_kind(node.value)}", node, what=what)
        for key, child in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "allowed keys: " + ", ".join(allowed)
                self.fail(f"unknown key {shown(key)} in {what}", getattr(child, "key_node", child), hint)
        for key in required:
            if key not in node.value:
                self.fail(f"{what} has no {key!r}", node, hint=_REQUIRED_HINTS.get(key), what=what)
        return node.value

    def identifier(self, node: Node, what: str) -> str:
        value = node.value
        if not isinstance(value, str) or not IDENT.match(value) or keyword.iskeyword(value):
            self.fail(f"{what} must be a name (letters, digits, _), not {shown(value)}", node, what=what)
        if value.startswith("__"):
            self.fail(f"{what} may not start with '__'", node, what=what)
        if len(value) > MAX_NAME:    # a name is part of messages, LaTeX, function and file names
            self.fail(f"{what} is {len(value):,} characters long; at most {MAX_NAME}", node, what=what)
        return value


_REQUIRED_HINTS = {
    "expr": "add a line such as  expr: sum(A * X)",
    "symbols": "declare each symbol, e.g.  symbols: {X: {shape: [n, m]}}",
    "shape": "add shape: [] for a scalar, [n] for a vector, [n, m] for a matrix",
}


def load(arg: Any) -> tuple[list[Problem], bool]:
    """Read expr.yaml (a path, YAML text or a dict) into its problems.

    Returns the problems and whether the input was a ``derivations:`` list
    (a single document gives a list of one and ``False``).
    """
    root, source = read_source(arg)
    check = _Checker(source)
    stem = re.sub(r"\W", "_", Path(source.file).stem if source.file else "expr") or "expr"
    stem = "_" + stem if stem[0].isdigit() else stem
    if isinstance(root.value, dict) and "derivations" in root.value:
        check.mapping(root, "the file", ("derivations",))
        entries = root.value["derivations"]
        if not isinstance(entries.value, list) or not entries.value:
            check.fail("derivations: must be a non-empty list of documents", entries)
        problems = [_problem(check, e, f"{stem}_{i + 1}") for i, e in enumerate(entries.value)]
        seen: dict[str, Problem] = {}
        for p, e in zip(problems, entries.value):
            if p.name in seen:
                check.fail(f"two derivations are named {p.name!r}", e,
                           "give each a different name: (it names output files and functions)")
            seen[p.name] = p
        return problems, True
    return [_problem(check, root, stem)], False


def _problem(check: _Checker, node: Node, default_name: str) -> Problem:
    doc = check.mapping(node, "the document", DOC_KEYS, ("symbols", "expr"))
    name = check.identifier(doc["name"], "name") if "name" in doc else default_name
    description = ""
    if "description" in doc:
        d = doc["description"]
        if not isinstance(d.value, str):
            check.fail(f"description must be text, not {_kind(d.value)}", d)
        description = d.value.strip()
    dims, dim_nodes = _dims(check, doc.get("dims"))
    symbols = _symbols(check, doc["symbols"], dims, dim_nodes)
    expr_node = doc["expr"]
    text = expr_node.value
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        check.fail(f"expr must be an expression written as text, not {_kind(expr_node.value)}",
                   expr_node, what="expr")
    text = text.strip() if "\n" in text else text
    for name_ in symbols:
        if name_ in dims:
            check.fail(f"{name_!r} is declared both as a dimension and as a symbol", doc["symbols"],
                       "rename one of them")
    lets, named, expr = named_expr(check, doc, symbols, dims, text)
    order = _order(check, doc.get("order"))
    wrt_not_let(check, doc.get("wrt"), lets)
    wrt = _wrt(check, doc.get("wrt"), symbols, expr, order, expr_node)
    mixed = _mixed(check, doc.get("mixed"), order)
    domain = _domain(check, doc.get("domain"), {**symbols, **{x.name: x for x in named.symbols}}, dims)
    raw = {k: _unwrap(v) for k, v in doc.items()}
    return Problem(name=name, expr_text=text, expr=expr, dims=dims, symbols=symbols, wrt=wrt,
                   order=order, mixed=mixed, description=description, file=check.source.file, line=node.line,
                   raw=raw, domain=tuple(g for g, _ in domain), domain_text=tuple(t for _, t in domain),
                   where=check.source.expr_locator(expr_node, text)(0, len(text)), let=lets,
                   expr_named=named if lets else None)


def _unwrap(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _unwrap(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_unwrap(v) for v in node.value]
    return node.value


def _dims(check: _Checker, node: Node | None) -> tuple[dict[str, int], dict[str, Node]]:
    if node is None or node.value is None:
        return {}, {}
    items: list[tuple[str, Node, Node | None]] = []
    if isinstance(node.value, list):
        for item in node.value:
            items.append((check.identifier(item, "a dimension name"), item, None))
    elif isinstance(node.value, dict):
        for key, value in node.value.items():
            key_node = getattr(value, "key_node", value)
            items.append((check.identifier(key_node, "a dimension name"), key_node, value))
    else:
        check.fail(f"dims must map names to sizes (n: 64), not {_kind(node.value)}", node, what="dims")
    explicit: dict[str, int] = {}
    for name, key_node, value in items:
        if name in CALLABLE:
            check.fail(f"{name!r} is a function name and cannot name a dimension", key_node)
        if value is not None and value.value is None:     # `n:` or `n: ~`: a size left out by mistake
            check.fail(f"the size of {name} is empty", value, f"write a positive integer ({name}: 64), or "
                       f"list names without sizes to take default ones: dims: [{name}]", what=f"dims.{name}")
        if value is not None:
            size = value.value
            if isinstance(size, bool) or not isinstance(size, int):
                check.fail(f"the size of {name} must be a positive integer, not {_kind(size)}", value,
                           what=f"dims.{name}")
            if not 1 <= size <= MAX_DIM:
                check.fail(f"the size of {name} must be between 1 and {MAX_DIM:,}, not {shown(size)}", value,
                           "sizes are only used for the numerical check; small ones are best",
                           what=f"dims.{name}")
            explicit[name] = size
    free = (p for p in default_sizes() if p not in explicit.values())
    dims = {name: explicit.get(name) or next(free) for name, _, _ in items}
    return dims, {name: key_node for name, key_node, _ in items}


def _symbols(check: _Checker, node: Node, dims: dict[str, int], dim_nodes) -> dict[str, ir.Symbol]:
    if not isinstance(node.value, dict) or not node.value:
        check.fail("symbols must map each symbol to its shape, e.g. X: {shape: [n, m]}", node,
                   what="symbols")
    out: dict[str, ir.Symbol] = {}
    for name, spec in node.value.items():
        key_node = getattr(spec, "key_node", spec)
        check.identifier(key_node, "a symbol name")
        if name in CALLABLE:
            check.fail(f"{name!r} is a function name and cannot name a symbol", key_node,
                       "pick another name")
        if name == "T":
            check.fail("'T' cannot name a symbol (it is the transpose attribute)", key_node)
        if isinstance(spec.value, list):
            check.fail(f"symbol {name} must be a mapping with a shape", spec,
                       f"write {name}: {{shape: {_unwrap(spec)}}}")
        fields = check.mapping(spec, f"symbol {name}", SYMBOL_KEYS, ("shape",))
        shape = _shape(check, fields["shape"], name, dims)
        props = _props(check, fields.get("props"), name, shape)
        out[name] = ir.Symbol(shape=shape, name=name, props=props)
    return out


def _shape(check: _Checker, node: Node, name: str, dims: dict[str, int]) -> Shape:
    if not isinstance(node.value, list):
        check.fail(f"the shape of {name} must be a list such as [n, m], not {_kind(node.value)}", node,
                   what=f"symbols.{name}.shape")
    if len(node.value) > 2:
        check.fail(f"{name} has {len(node.value)} dimensions; matcalc handles scalars, vectors and "
                   "matrices", node, what=f"symbols.{name}.shape")
    shape: list[str | int] = []
    for d in node.value:
        if isinstance(d.value, bool) or not isinstance(d.value, (str, int)):
            check.fail(f"a dimension must be a name from dims or a positive integer, not {_kind(d.value)}",
                       d, what=f"symbols.{name}.shape")
        if isinstance(d.value, int):
            if d.value < 1 or d.value > MAX_DIM:
                check.fail(f"a dimension must be a positive integer up to {MAX_DIM:,}, not {shown(d.value)}", d,
                           what=f"symbols.{name}.shape")
            shape.append(d.value)
        elif d.value not in dims and dimexpr.is_compound(d.value):     # p*r, n+1
            shape.append(declared_dim(check.source, d, dims, f"symbols.{name}.shape"))
        elif d.value not in dims:
            close = difflib.get_close_matches(d.value, list(dims), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"add  {excerpt(d.value)}: <size>  under dims:"
            check.fail(f"undefined dimension {shown(d.value)} in the shape of {name}", d, hint,
                       what=f"symbols.{name}.shape")
        else:
            shape.append(d.value)
    return tuple(shape)


def _props(check: _Checker, node: Node | None, name: str, shape: Shape) -> frozenset[str]:
    if node is None or node.value is None:
        return frozenset()
    items = node.value if isinstance(node.value, list) else [node]
    declared: set[str] = set()
    for item in items:
        prop = item.value
        if not isinstance(prop, str) or prop not in PROPS:
            close = difflib.get_close_matches(str(prop), list(PROPS), n=1)
            hint = _list_hint(prop, "props") or (f"did you mean {close[0]!r}?" if close
                                                 else "known props: " + ", ".join(PROPS))
            check.fail(f"unknown prop {shown(prop)} for {name}", item, hint, what=f"symbols.{name}.props")
        spec = PROPS[prop]
        if not spec.fits_shape(shape):
            check.fail(f"{prop} needs {spec.shape_requirement()}, but {name} is {show(shape)}", item,
                       what=f"symbols.{name}.props")
        declared.add(prop)
    for a, b, why in CONFLICTS:
        if a in declared and b in declared:
            check.fail(f"{name} cannot be both {a} and {b}: {why}", node, what=f"symbols.{name}.props")
    return closure(declared)


def _list_hint(value: Any, key: str) -> str | None:
    """``props: spd, symmetric`` is one string, not two props: say how to write a list."""
    parts = [p for p in re.split(r"[\s,]+", value) if p] if isinstance(value, str) else []
    return f"several are written as a list: {key}: [{excerpt(', '.join(parts))}]" if len(parts) > 1 else None


def _order(check: _Checker, node: Node | None) -> int:
    if node is None:
        return 1
    if type(node.value) is not int or node.value not in (1, 2):   # 2.0 is refused, as for sizes
        check.fail(f"order must be 1 (gradient) or 2 (Hessian), not {shown(node.value)}", node, what="order")
    return int(node.value)


def _wrt(check: _Checker, node: Node | None, symbols: dict[str, ir.Symbol], expr: ir.Expr, order: int,
         expr_node: Node) -> tuple[str, ...]:
    used = {s.name for s in expr.symbols}
    if node is None or node.value is None:
        names = [n for n, s in symbols.items() if n in used and "constant" not in s.props]
        if not names:
            check.fail("the expression depends on no symbol that can be differentiated", expr_node,
                       "add a symbol that is not constant, or say wrt:")
        # With no wrt: line, complaints about the derivative point at the expression.
        items = [(n, expr_node) for n in names]
        explicit = False
    else:
        raw = node.value if isinstance(node.value, list) else [node]
        items = []
        for item in raw:
            if not isinstance(item.value, str):
                check.fail(f"wrt must name symbols, not {_kind(item.value)}", item, what="wrt")
            items.append((item.value, item))
        if not items:
            check.fail("wrt is empty", node, "name at least one symbol, or leave wrt out for all",
                       what="wrt")
        explicit = True
    seen: list[str] = []
    for name, where in items:
        if name not in symbols:
            close = difflib.get_close_matches(name, list(symbols), n=1)
            check.fail(f"wrt names {shown(name)}, which is not a declared symbol", where, _list_hint(name, "wrt")
                       or (f"did you mean {close[0]!r}?" if close else "declare it under symbols:"), what="wrt")
        if name in seen:
            check.fail(f"{name} appears twice in wrt", where, what="wrt")
        if "constant" in symbols[name].props:
            check.fail(f"{name} is declared constant and cannot be differentiated", where,
                       "remove it from wrt, or drop the constant prop", what="wrt")
        _check_derivative_shape(check, expr, symbols[name], order, where, "wrt" if explicit else "expr")
        seen.append(name)
    return tuple(seen)


def _mixed(check: _Checker, node: Node | None, order: int) -> bool:
    """``mixed: true`` (order 2 only): every pair of wrt symbols' ∂²J/∂vec W1 ∂(vec W2)ᵀ too."""
    if node is None:
        return False
    if not isinstance(node.value, bool):
        check.fail(f"mixed must be true or false, not {shown(node.value)}", node, what="mixed")
    if node.value and order != 2:
        check.fail("mixed: true asks for mixed second derivatives, which need order: 2", node,
                   "add order: 2, or drop mixed:", what="mixed")
    return node.value


def _check_derivative_shape(check: _Checker, expr: ir.Expr, sym: ir.Symbol, order: int, where,
                            what: str):
    """Order 2 needs a scalar expression; any other derivative exists: a matrix one in the
    vec convention (``∂ vec F / ∂ (vec X)ᵀ``)."""
    if order == 2 and expr.shape:
        check.fail(f"a Hessian needs a scalar expression, but this one is {show(expr.shape)}", where,
                   "take a scalar of it, such as sum(...), or use order: 1 for its Jacobian", what=what)


_COMPARISON = re.compile(r"[<>]=?")


def _domain(check: _Checker, node: Node | None, symbols, dims) -> list[tuple[ir.Expr, str]]:
    """``domain:`` entries ``L > R`` (or ``<``, ``>=``, ``<=``) as ``g`` with ``g > 0``
    entrywise: ``b - A @ x > 0`` is ``b - A @ x``; ``x < 1`` is ``1 - x``."""
    if node is None or node.value is None:
        return []
    items = node.value if isinstance(node.value, list) else [node]
    out = []
    for item in items:
        text = item.value
        if not isinstance(text, str):
            check.fail(f"a domain entry must be a comparison written as text, such as `b - A @ x > 0`, "
                       f"not {_kind(text)}", item, what="domain")
        locate = check.source.expr_locator(item, text, what="domain")
        found = [m for m in _COMPARISON.finditer(text) if _depth(text, m.start()) == 0]
        if len(found) != 1:
            where = locate(found[1].start(), found[1].end()) if found else locate(0, max(len(text), 1))
            raise ExprSyntaxError("a domain entry is one comparison: EXPR > 0 (every entry of EXPR > 0)"
                                  if not found else "a domain entry holds one comparison, not a chain",
                                  location=where, hint="write it as EXPR > 0, e.g. `b - A @ x > 0`" if not found
                                  else "write each condition as its own entry, e.g. `- b - A @ x > 0`")
        m = found[0]
        left_text, right_text = text[:m.start()], text[m.end():]
        left = parse(left_text, symbols, dims, locate)
        right = parse(right_text, symbols, dims, lambda a, b, k=m.end(): locate(a + k, b + k))
        big, small = (left, right) if m.group().startswith(">") else (right, left)
        try:
            g = big if isinstance(small, ir.Number) and small.value == 0 else ir.apply("sub", [big, small])
        except ShapeMismatch as exc:
            raise ShapeError(f"the two sides of the domain entry do not broadcast: {exc}",
                             location=locate(0, len(text))) from None
        out.append((g, text.strip()))
    return out


def _depth(text: str, at: int) -> int:
    """How deep inside brackets position ``at`` of ``text`` is."""
    depth = 0
    for ch in text[:at]:
        depth += ch in "([{"
        depth -= ch in ")]}"
    return depth
