"""expr.yaml -> :class:`Problem` (dims, symbols, props, expr, wrt, order).

YAML is read with PyYAML's *safe* composer, which builds a node tree that
remembers the line and column of every value and constructs no Python objects
from tags; anchors and aliases are refused (they serve no purpose here and are
the vehicle of "billion laughs" bombs).  Every complaint names the file and
line of the offending value and, where it is knowable, the fix.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import ir
from .errors import FileError, Location, SpecError, YamlError
from .ops import CALLABLE
from .parse import parse
from .props import CONFLICTS, PROPS, closure
from .shapes import Shape, show

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
DOC_KEYS = ("name", "description", "dims", "symbols", "expr", "wrt", "order")
SYMBOL_KEYS = ("shape", "props")
DEFAULT_SIZES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)
MAX_DIM = 100_000
MAX_FILE_BYTES = 1_000_000


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
    description: str = ""
    file: str | None = None
    line: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# -- located YAML values -----------------------------------------------------

@dataclass
class Node:
    """A YAML value with where it was written."""

    value: Any          # dict[str, Node] | list[Node] | scalar
    line: int | None    # 1-based
    column: int | None  # 1-based
    style: str | None = None
    end_line: int | None = None


class _Loader(yaml.SafeLoader):
    """Safe composer that refuses anchors/aliases and keeps every mark."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "anchors and aliases (*name) are not supported in "
                                       "expr.yaml", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(None, None, "anchors (&name) are not supported in expr.yaml",
                                       event.start_mark)
        return super().compose_node(parent, index)


class Source:
    """The text of one input (file or string) and how to point into it."""

    def __init__(self, text: str, file: str | None):
        self.text = text
        self.file = file
        self.lines = text.splitlines()

    def at(self, node: Node | None, what: str | None = None) -> Location:
        if node is None or node.line is None:
            return Location(file=self.file, what=what)
        source = self.lines[node.line - 1] if 0 < node.line <= len(self.lines) else None
        col = (node.column or 1) - 1
        return Location(file=self.file, line=node.line, column=node.column, source=source,
                        caret_start=col, caret_end=col + 1, what=what)

    def expr_locator(self, node: Node, text: str):
        """Map character offsets of the expression to file positions."""
        line = node.line
        col = (node.column or 1) - 1
        if line is not None and node.style in (None, "'", '"') and "\n" not in text:
            file_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            offset = col + (1 if node.style in ("'", '"') else 0)
            if file_line[offset:offset + len(text)] == text:
                def locate_in_file(start: int, end: int) -> Location:
                    return Location(file=self.file, line=line, column=offset + start + 1,
                                    source=file_line, caret_start=offset + start,
                                    caret_end=offset + end, what="expr")
                return locate_in_file
        first = (line or 0) + (1 if node.style in ("|", ">") else 0)

        def locate_in_expr(start: int, end: int) -> Location:
            before = text[:start]
            line_start = before.rfind("\n") + 1
            line_end = text.find("\n", start)
            line_end = len(text) if line_end < 0 else line_end
            return Location(file=self.file, line=first + before.count("\n") if line else None,
                            source=text[line_start:line_end], caret_start=start - line_start,
                            caret_end=end - line_start, what=f"expr, column {start - line_start + 1}")
        return locate_in_expr


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _to_nodes(node: yaml.Node, source: Source, constructor: yaml.SafeLoader) -> Node:
    mark = node.start_mark
    line, column = mark.line + 1, mark.column + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        # e.g. !!python/object/apply:os.system [...]: refuse rather than silently read a list
        raise YamlError(f"YAML tags such as {node.tag.replace('tag:yaml.org,2002:', '!!')} are not "
                        "supported in expr.yaml", location=source.at(Node(None, line, column)),
                        hint="remove the tag")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _to_nodes(key_node, source, constructor)
            if not isinstance(key.value, str):
                raise SpecError(f"keys must be names, not {key.value!r}", location=source.at(key))
            if key.value in out:
                raise SpecError(f"the key {key.value!r} appears twice", location=source.at(key),
                                hint="remove one of them")
            child = _to_nodes(value_node, source, constructor)
            child.key_node = key  # type: ignore[attr-defined]
            out[key.value] = child
        return Node(out, line, column)
    if isinstance(node, yaml.SequenceNode):
        return Node([_to_nodes(v, source, constructor) for v in node.value], line, column)
    value = constructor.construct_scalar(node) if node.tag == "tag:yaml.org,2002:str" \
        else constructor.construct_object(node)
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, (str, int, float, bool, type(None))):
        raise SpecError(f"unsupported YAML value of type {type(value).__name__}", location=source.at(
            Node(None, line, column)))
    return Node(value, line, column, style=node.style, end_line=node.end_mark.line + 1)


def _plain(value: Any) -> Node:
    """Wrap plain Python data (from the API) as nodes without positions."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SpecError(f"keys must be names, not {k!r}")
            child = _plain(v)
            child.key_node = Node(k, None, None)  # type: ignore[attr-defined]
            out[k] = child
        return Node(out, None, None)
    if isinstance(value, (list, tuple)):
        return Node([_plain(v) for v in value], None, None)
    return Node(value, None, None)


def read_yaml(text: str, file: str | None = None) -> tuple[Node, Source]:
    source = Source(text, file)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError("the file is empty", location=Location(file=file),
                                hint="see derivations/ for examples of expr.yaml")
            return _to_nodes(root, source, loader), source
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc):
            problem = "the file holds several YAML documents; put them in a derivations: list"
        node = Node(None, mark.line + 1, mark.column + 1) if mark else None
        raise YamlError(f"not valid YAML: {problem}", location=source.at(node)) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", location=Location(file=file)) from None
    except RecursionError:
        raise YamlError("the YAML nests too deeply", location=Location(file=file)) from None


def read_source(arg: Any) -> tuple[Node, Source]:
    """Accept a path, YAML text, or a dict (the Python API)."""
    if isinstance(arg, Mapping):
        return _plain(arg), Source("", None)
    if isinstance(arg, Path) or (isinstance(arg, str) and "\n" not in arg and ":" not in arg.split("/")[-1]):
        path = Path(arg)
        if not path.exists():
            raise FileError(f"no such file: {path}", hint="give the path of an expr.yaml file")
        if path.is_dir():
            raise FileError(f"{path} is a directory, not an expr.yaml file",
                            hint=f"try {path}/*.yaml")
        if not path.is_file():
            # a FIFO would block and /dev/zero never ends: read regular files only
            raise FileError(f"{path} is not a regular file", hint="give the path of an expr.yaml file")
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise FileError(f"{path} is {size:,} bytes; an expr.yaml file is at most "
                                f"{MAX_FILE_BYTES:,} bytes")
            with path.open("rb") as f:   # at most the limit, even if the file grows meanwhile
                data = f.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise FileError(f"{path} is more than {MAX_FILE_BYTES:,} bytes; an expr.yaml file is "
                                f"at most {MAX_FILE_BYTES:,} bytes")
        except OSError as exc:
            raise FileError(f"cannot read {path}: {exc.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileError(f"{path} is not UTF-8 text (byte {exc.start})") from None
        return read_yaml(text, str(path))
    if isinstance(arg, str):
        if len(arg) > MAX_FILE_BYTES:
            raise SpecError(f"the input is {len(arg):,} characters; the limit is {MAX_FILE_BYTES:,}")
        return read_yaml(arg, None)
    raise SpecError(f"derive() takes a path, YAML text or a dict, not {type(arg).__name__}")


# -- validation --------------------------------------------------------------

class _Checker:
    def __init__(self, source: Source):
        self.source = source

    def fail(self, message: str, node: Node | None, hint: str | None = None, what: str | None = None):
        raise SpecError(message, location=self.source.at(node, what), hint=hint)

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
        if not isinstance(node.value, dict):
            self.fail(f"{what} must be a mapping (key: value lines), not {_kind(node.value)}", node,
                      what=what)
        for key, child in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "allowed keys: " + ", ".join(allowed)
                self.fail(f"unknown key {key!r} in {what}", getattr(child, "key_node", child), hint)
        for key in required:
            if key not in node.value:
                self.fail(f"{what} has no {key!r}", node, hint=_REQUIRED_HINTS.get(key), what=what)
        return node.value

    def identifier(self, node: Node, what: str) -> str:
        value = node.value
        if not isinstance(value, str) or not IDENT.match(value) or keyword.iskeyword(value):
            self.fail(f"{what} must be a name (letters, digits, _), not {value!r}", node, what=what)
        if value.startswith("__"):
            self.fail(f"{what} may not start with '__'", node, what=what)
        return value


_REQUIRED_HINTS = {
    "expr": "add a line such as  expr: sum(A * X)",
    "symbols": "declare each symbol, e.g.  symbols: {X: {shape: [n, m]}}",
    "shape": "add shape: [] for a scalar, [n] for a vector, [n, m] for a matrix",
}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def load(arg: Any) -> tuple[list[Problem], bool]:
    """Read expr.yaml (a path, YAML text or a dict) into its problems.

    Returns the problems and whether the input was a ``derivations:`` list
    (a single document gives a list of one and ``False``).
    """
    root, source = read_source(arg)
    check = _Checker(source)
    stem = Path(source.file).stem if source.file else "expr"
    stem = re.sub(r"\W", "_", stem) or "expr"
    if stem[0].isdigit():
        stem = "_" + stem
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
    expr = parse(text, symbols, dims, check.source.expr_locator(expr_node, text))
    order = _order(check, doc.get("order"))
    wrt = _wrt(check, doc.get("wrt"), symbols, expr, order, expr_node)
    raw = {k: _unwrap(v) for k, v in doc.items()}
    return Problem(name=name, expr_text=text, expr=expr, dims=dims, symbols=symbols, wrt=wrt,
                   order=order, description=description, file=check.source.file, line=node.line,
                   raw=raw)


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
        if value is not None and value.value is not None:
            size = value.value
            if isinstance(size, bool) or not isinstance(size, int):
                check.fail(f"the size of {name} must be a positive integer, not {_kind(size)}", value,
                           what=f"dims.{name}")
            if not 1 <= size <= MAX_DIM:
                check.fail(f"the size of {name} must be between 1 and {MAX_DIM:,}, not {size}", value,
                           "sizes are only used for the numerical check; small ones are best",
                           what=f"dims.{name}")
            explicit[name] = size
    free = iter(p for p in DEFAULT_SIZES if p not in explicit.values())
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
                check.fail(f"a dimension must be a positive integer up to {MAX_DIM:,}, not {d.value}", d,
                           what=f"symbols.{name}.shape")
            shape.append(d.value)
        elif d.value not in dims:
            close = difflib.get_close_matches(d.value, list(dims), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"add  {d.value}: <size>  under dims:"
            check.fail(f"undefined dimension {d.value!r} in the shape of {name}", d, hint,
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
            hint = f"did you mean {close[0]!r}?" if close else "known props: " + ", ".join(PROPS)
            check.fail(f"unknown prop {prop!r} for {name}", item, hint, what=f"symbols.{name}.props")
        spec = PROPS[prop]
        if not spec.fits_shape(shape):
            check.fail(f"{prop} needs {spec.shape_requirement()}, but {name} is {show(shape)}", item,
                       what=f"symbols.{name}.props")
        declared.add(prop)
    for a, b, why in CONFLICTS:
        if a in declared and b in declared:
            check.fail(f"{name} cannot be both {a} and {b}: {why}", node, what=f"symbols.{name}.props")
    return closure(declared)


def _order(check: _Checker, node: Node | None) -> int:
    if node is None:
        return 1
    if node.value not in (1, 2) or isinstance(node.value, bool):
        check.fail(f"order must be 1 (gradient) or 2 (Hessian), not {node.value!r}", node, what="order")
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
            check.fail(f"wrt names {name!r}, which is not a declared symbol", where,
                       f"did you mean {close[0]!r}?" if close else "declare it under symbols:", what="wrt")
        if name in seen:
            check.fail(f"{name} appears twice in wrt", where, what="wrt")
        if explicit and name not in used:
            check.fail(f"{name} does not occur in the expression (its derivative would be zero)", where,
                       what="wrt")
        if "constant" in symbols[name].props:
            check.fail(f"{name} is declared constant and cannot be differentiated", where,
                       "remove it from wrt, or drop the constant prop", what="wrt")
        _check_derivative_shape(check, expr, symbols[name], order, where, "wrt" if explicit else "expr")
        seen.append(name)
    return tuple(seen)


def _check_derivative_shape(check: _Checker, expr: ir.Expr, sym: ir.Symbol, order: int, where,
                            what: str):
    out, inp = expr.shape, sym.shape
    if order == 2:
        if out:
            check.fail(f"a Hessian needs a scalar expression, but this one is {show(out)}", where,
                       "take a scalar of it, such as sum(...)", what=what)
        if len(inp) == 2:
            check.fail(f"the Hessian w.r.t. the matrix {sym.name} would be a 4-D object", where,
                       "matcalc gives Hessians w.r.t. vectors and scalars; use order: 1 for matrices",
                       what=what)
        return
    if not out or not inp:
        return
    if len(out) == 1 and len(inp) == 1:
        return
    kind = "vector" if len(out) == 1 else "matrix"
    check.fail(f"the expression is a {show(out)} {kind}, so its derivative w.r.t. the "
               f"{show(inp)} {sym.name} would be a {len(out) + len(inp)}-D object", where,
               "differentiate a scalar such as sum(...) or norm(..., 'fro') ** 2", what=what)
