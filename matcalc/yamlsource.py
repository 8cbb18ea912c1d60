"""Reading expr.yaml safely, keeping where every value was written.

PyYAML's *safe* composer builds a node tree that remembers the line and
column of every value and constructs no Python objects from tags; anchors,
aliases and tags are refused (they serve no purpose here, and aliases are the
vehicle of "billion laughs" bombs).  Inputs are a path, YAML text, or a dict
(the Python API); only regular files are read, at most MAX_FILE_BYTES.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import FileError, Location, SpecError, YamlError

MAX_FILE_BYTES = 1_000_000


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
                                    caret_end=offset + end, what=what)
                return locate_in_file
        first = (line or 0) + (1 if node.style in ("|", ">") else 0)

        def locate_in_expr(start: int, end: int) -> Location:
            before = text[:start]
            line_start = before.rfind("\n") + 1
            line_end = text.find("\n", start)
            line_end = len(text) if line_end < 0 else line_end
            return Location(file=self.file, line=first + before.count("\n") if line else None,
                            source=text[line_start:line_end], caret_start=start - line_start,
                            caret_end=end - line_start, what=f"{what}, column {start - line_start + 1}")
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


