"""Reading expr.yaml safely, keeping where every value was written.

PyYAML's *safe* composer builds a node tree that remembers the line and
column of every value and constructs no Python objects from tags; anchors,
aliases and tags are refused (they serve no purpose here, and aliases are the
vehicle of "billion laughs" bombs).  Inputs are a path, YAML text, or a dict
(the Python API); only regular files are read, at most MAX_FILE_BYTES.

Plain scalars are read with the YAML 1.2 core schema, not PyYAML's YAML 1.1
one: ``010`` is ten (not octal 8), ``1:30`` and ``1_000`` are text (not 90 and
1000), ``yes``/``no``/``on``/``off`` are text (not booleans), dates are text.
Numbers and booleans are only ``true``/``false``, ``[-+]123``, ``0o17``,
``0x1F``, ``1.5e3``, ``.inf``, ``.nan``; ``~``, ``null`` and nothing are null.

Every value also knows its key path (``symbols.X.shape[1]``), so an error in a
dict given to the API (which has no lines) still says where it is.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import FileError, Location, SpecError, YamlError, shown

MAX_FILE_BYTES = 1_000_000
MAX_NESTING = 64          # levels of a dict given to the API (expr.yaml needs 5)
MAX_VALUES = 200_000      # values in such a dict, about what a MAX_FILE_BYTES file can hold
MAX_DIGITS = 1_000        # of an integer in the YAML


@dataclass
class Node:
    """A YAML value with where it was written."""

    value: Any          # dict[str, Node] | list[Node] | scalar
    line: int | None    # 1-based
    column: int | None  # 1-based
    style: str | None = None
    end_line: int | None = None
    path: str | None = None   # the key path, ``symbols.X.shape[1]``; None for the document itself

    def __repr__(self) -> str:
        # a message quoting a list or mapping the user wrote shows it as data, not as nodes
        return repr(self.value)


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


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), replacing PyYAML's 1.1 one
_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_INT = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT = re.compile(r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z")
_TAG = "tag:yaml.org,2002:"
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (("null", _NULL, ["~", "n", "N", ""]), ("bool", _BOOL, list("tTfF")),
                               ("int", _INT, list("-+0123456789")), ("float", _FLOAT, list("-+.0123456789"))):
    _Loader.add_implicit_resolver(_TAG + _tag, _pattern, _first)


def _scalar(loader: _Loader, node: yaml.ScalarNode, pattern: re.Pattern, what: str) -> str:
    text = loader.construct_scalar(node)
    if not pattern.match(text):
        raise yaml.constructor.ConstructorError(None, None, f"{shown(text)} is not a YAML 1.2 {what}",
                                                node.start_mark)
    return text


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = _scalar(loader, node, _INT, "integer")
    if len(text) > MAX_DIGITS:   # int() of more than 4,300 digits raises ValueError
        raise yaml.constructor.ConstructorError(None, None, f"the number {text[:20]}... has {len(text):,} "
                                                "digits", node.start_mark)
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text[2:] if base != 10 else text, base)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    if _INT.match(loader.construct_scalar(node)):    # !!float 0x10
        return float(_construct_int(loader, node))
    text = _scalar(loader, node, _FLOAT, "number")
    return float(re.sub(r"\.(?=[iInN])", "", text))  # -.inf -> -inf; float() takes any case


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return _scalar(loader, node, _BOOL, "boolean").lower() == "true"


_Loader.add_constructor(_TAG + "int", _construct_int)
_Loader.add_constructor(_TAG + "float", _construct_float)
_Loader.add_constructor(_TAG + "bool", _construct_bool)


class Source:
    """The text of one input (file or string) and how to point into it."""

    def __init__(self, text: str, file: str | None):
        self.text = text
        self.file = file
        self.lines = text.splitlines()

    def at(self, node: Node | None, what: str | None = None) -> Location:
        path = node.path if node is not None else None
        if node is None or node.line is None:
            return Location(file=self.file, what=what, path=path)
        source = self.lines[node.line - 1] if 0 < node.line <= len(self.lines) else None
        col = (node.column or 1) - 1
        return Location(file=self.file, line=node.line, column=node.column, source=source,
                        caret_start=col, caret_end=col + 1, what=what, path=path)

    def expr_locator(self, node: Node, text: str, what: str = "expr"):
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
                                    caret_end=offset + end, what=what, path=node.path)
                return locate_in_file
        first = (line or 0) + (1 if node.style in ("|", ">") else 0)

        def locate_in_expr(start: int, end: int) -> Location:
            before = text[:start]
            line_start = before.rfind("\n") + 1
            line_end = text.find("\n", start)
            line_end = len(text) if line_end < 0 else line_end
            column = start - line_start + 1
            if line is None:    # a dict's string: line and column count within it (see Location)
                return Location(line=before.count("\n") + 1, column=column, source=text[line_start:line_end],
                                caret_start=column - 1, caret_end=end - line_start, what=what, path=node.path)
            at_line = first + before.count("\n")
            # a block scalar's line (`|`, `>`) or `.nan` read as the text nan: found in the file's
            # line, the place is a line and column of the file
            file_line = self.lines[at_line - 1] if 0 < at_line <= len(self.lines) else ""
            shift = file_line.find(text[line_start:line_end]) if text[line_start:line_end].strip() else -1
            if shift >= 0:
                return Location(file=self.file, line=at_line, column=shift + column, source=file_line,
                                caret_start=shift + column - 1, caret_end=shift + end - line_start, what=what,
                                path=node.path)
            return Location(file=self.file, line=at_line,
                            source=text[line_start:line_end], caret_start=start - line_start,
                            caret_end=end - line_start, what=f"{what}, column {column}", path=node.path)
        return locate_in_expr


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _to_nodes(node: yaml.Node, source: Source, constructor: yaml.SafeLoader, path: str = "") -> Node:
    mark = node.start_mark
    line, column = mark.line + 1, mark.column + 1
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        # e.g. !!python/object/apply:os.system [...]: refuse rather than silently read a list
        raise YamlError(f"YAML tags such as {node.tag.replace('tag:yaml.org,2002:', '!!')} are not "
                        "supported in expr.yaml", location=source.at(Node(None, line, column, path=path or None)),
                        hint="remove the tag")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _to_nodes(key_node, source, constructor, path)
            if not isinstance(key.value, str):
                raise SpecError(f"keys must be names, not {shown(key.value)}", location=source.at(key))
            key.path = _key_path(path, key.value)
            if key.value in out:
                raise SpecError(f"the key {shown(key.value)} appears twice", location=source.at(key),
                                hint="remove one of them")
            child = _to_nodes(value_node, source, constructor, key.path)
            child.key_node = key  # type: ignore[attr-defined]
            out[key.value] = child
        return Node(out, line, column, path=path or None)
    if isinstance(node, yaml.SequenceNode):
        return Node([_to_nodes(v, source, constructor, f"{path}[{i}]") for i, v in enumerate(node.value)],
                    line, column, path=path or None)
    value = constructor.construct_scalar(node) if node.tag == "tag:yaml.org,2002:str" \
        else constructor.construct_object(node)
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, (str, int, float, bool, type(None))):
        raise SpecError(f"unsupported YAML value of type {type(value).__name__}", location=source.at(
            Node(None, line, column, path=path or None)))
    return Node(value, line, column, style=node.style, end_line=node.end_mark.line + 1, path=path or None)


def _plain(value: Any, path: str = "", active: frozenset[int] = frozenset(), count: list[int] | None = None
           ) -> Node:
    """Wrap plain Python data (from the API) as nodes that know their key path.

    The data is not YAML, so it is checked here the way the YAML reader
    checks text: plain values only (numpy integer and float scalars become
    int and float), no dict or list that contains itself, at most
    MAX_NESTING levels and MAX_VALUES values."""
    count = [0] if count is None else count
    count[0] += 1
    where = Location(path=path or None)
    if count[0] > MAX_VALUES:
        raise SpecError(f"the document holds more than {MAX_VALUES:,} values", location=where)
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in active:
            raise SpecError(f"the document contains itself at {path or 'its top'}", location=where,
                            hint="give plain nested data (a dict that refers to itself has no YAML form)")
        if len(active) >= MAX_NESTING:
            raise SpecError(f"the document nests more than {MAX_NESTING} levels deep", location=where)
        inner = active | {id(value)}
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise SpecError(f"keys must be names, not {shown(k)}", location=where)
                k = str(k)
                child = _plain(v, _key_path(path, k), inner, count)
                child.key_node = Node(k, None, None, path=child.path)  # type: ignore[attr-defined]
                out[k] = child
            return Node(out, None, None, path=path or None)
        return Node([_plain(v, f"{path}[{i}]", inner, count) for i, v in enumerate(value)], None, None,
                    path=path or None)
    return Node(_scalar_value(value, where), None, None, path=path or None)


def _scalar_value(value: Any, where: Location) -> Any:
    """A value of a dict document as YAML would give it: str, int, float, bool or None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):      # int, numpy.int64, ...
        return int(value)
    if isinstance(value, numbers.Real):          # float, numpy.float32, ...
        return float(value)
    kind = type(value).__qualname__ if type(value).__module__ == "builtins" else \
        f"{type(value).__module__}.{type(value).__qualname__}"    # numpy.bool, not a puzzling "bool"
    raise SpecError(f"unsupported value of type {kind} in the document", location=where,
                    hint="values are text, numbers, true/false, lists and dicts, as in expr.yaml")


def read_yaml(text: str, file: str | None = None) -> tuple[Node, Source]:
    source = Source(text, file)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise SpecError(f"the {'file' if file else 'input'} is empty", location=Location(file=file),
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
    except yaml.reader.ReaderError as exc:     # a character YAML does not allow (NUL, ...): where it is
        lines = (text[:exc.position] + "x").splitlines()
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise YamlError(f"not valid YAML: the character {char!r} is not allowed",
                        location=source.at(Node(None, len(lines), len(lines[-1]))),
                        hint="remove it (control characters other than tab and newline)") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", location=Location(file=file)) from None
    except RecursionError:
        raise YamlError("the YAML nests too deeply", location=Location(file=file)) from None


def _not_utf8(path: Path, data: bytes, at: int) -> FileError:
    """The first byte that is not UTF-8, shown on its line (the rest of the line as far
    as it decodes), so that the user finds it in an editor."""
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    line = data[start:len(data) if end < 0 else end].decode("utf-8", "replace")
    column = len(data[start:at].decode("utf-8", "replace"))
    where = Location(file=str(path), line=data.count(b"\n", 0, at) + 1, column=column + 1, source=line,
                     caret_start=column, caret_end=column + 1)
    return FileError(f"{path} is not UTF-8 text: byte {at} is 0x{data[at]:02x}", location=where,
                     hint="save the file as UTF-8 (an editor's \"encoding\" setting)")


def read_source(arg: Any) -> tuple[Node, Source]:
    """Accept a path, YAML text, or a dict (the Python API)."""
    if isinstance(arg, Mapping):
        return _plain(arg), Source("", None)
    # one line with no `key:` is a path; blank text is not (Path("") is the current directory)
    if isinstance(arg, Path) or (isinstance(arg, str) and arg.strip() and "\n" not in arg
                                 and ":" not in arg.split("/")[-1]):
        path = Path(arg)
        if not path.exists():
            raise FileError(f"no such file: {path}", hint="give the path of an expr.yaml file" + (
                " (reading one from standard input, -, is not supported)" if str(arg) == "-" else ""))
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
            raise _not_utf8(path, data, exc.start) from None
        return read_yaml(text, str(path))
    if isinstance(arg, str):
        if len(arg) > MAX_FILE_BYTES:
            raise SpecError(f"the input is {len(arg):,} characters; the limit is {MAX_FILE_BYTES:,}")
        return read_yaml(arg, None)
    raise SpecError(f"derive() takes a path, YAML text or a dict, not {type(arg).__name__}")


