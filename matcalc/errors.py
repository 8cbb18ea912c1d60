"""One hierarchy for every error a user can cause.

Library code raises these; only the CLI decides how to print them and which
exit code to use.  Each error carries *what* is wrong, *where* (a
:class:`Location`: file, line, column, and the source line to draw a caret
under) and, when it is knowable, *how to fix it* (``hint``).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

QUOTE_LIMIT = 60    # characters of the user's text a message quotes


def excerpt(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut in the middle to at most ``limit`` characters.  Messages quote
    what the user wrote, and a name, key or expression may be 200,000 characters
    long: the message stays one short block, the caret still shows the place."""
    if len(text) <= limit:
        return text
    tail = (limit - 3) // 3
    return f"{text[:limit - 3 - tail]}...{text[len(text) - tail:]}"


def shown(value) -> str:
    """A value the user gave, as a message quotes it: its repr, cut by :func:`excerpt`."""
    return excerpt(repr(value))


@dataclass(frozen=True)
class Location:
    """A place in the user's input.

    ``line`` and ``column`` are 1-based and refer to the file when ``file`` is
    set, and to the YAML text for text input.  A dict given to the API has no
    text: there ``line`` and ``column`` count within the string at ``path``
    (the place in an expression), and are None for other values.
    ``path`` is the key path of the value in the document, for every kind of
    input: ``symbols.X.shape[1]``, ``derivations[0].expr`` (None for the
    document as a whole).  ``source`` is the text line shown to the user and
    ``caret_start`` / ``caret_end`` are 0-based character offsets into it
    (end exclusive).
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    source: str | None = None
    caret_start: int | None = None
    caret_end: int | None = None
    what: str | None = None  # e.g. "expr", "symbols.W.shape"
    path: str | None = None  # e.g. "symbols.W.shape[0]"

    def header(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        where = ":".join(parts)
        what = self.what or self.path    # (a key path holds the user's keys: any length)
        return f"{where} ({excerpt(what)})" if what else where

    def as_dict(self) -> dict:
        """The place as JSON: file, line, column, path (see the class docstring)."""
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path}

    def snippet(self) -> list[str]:
        """The source line and a caret line under the offending part."""
        if self.source is None:
            return []
        # one column per character, so that the caret lines up: a tab is a space, a
        # control character (NUL, ESC, ...) is shown as U+FFFD rather than sent to the terminal
        text = "".join(ch if ch.isprintable() else " " if ch == "\t" else "\ufffd"
                       for ch in self.source.rstrip("\n"))
        gutter = f"{self.line} | " if self.line is not None else "| "
        start = end = None
        if self.caret_start is not None:
            start = max(0, min(self.caret_start, len(text)))
            end = self.caret_end if self.caret_end is not None else start + 1
            end = max(start + 1, min(end, len(text) + 1))
        # Long lines are cut to a window around the caret so the block fits 80 columns.
        width = 78 - len(gutter)
        if len(text) > width:
            left = 0 if start is None else max(0, min(start - width // 3, len(text) - width))
            shown = text[left:left + width]
            prefix = "..." if left > 0 else ""
            suffix = "..." if left + width < len(text) else ""
            text = prefix + shown + suffix
            if start is not None:
                start = start - left + len(prefix)
                end = min(end - left + len(prefix), len(prefix) + len(shown) + 1)
        lines = [gutter + text]
        if start is not None:
            lines.append(" " * len(gutter) + " " * start + "^" * max(1, end - start))
        return lines


class MatcalcError(Exception):
    """Base of every error matcalc raises on purpose."""

    kind = "error"
    exit_code = 2

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def with_location(self, location: Location) -> "MatcalcError":
        """Return a copy that knows where it happened (first location wins)."""
        if self.location is not None and self.location.file is not None:
            return self
        err = type(self)(self.message, location=location, hint=self.hint)
        return err

    def render(self) -> str:
        """The short block the CLI prints: message, place, caret, hint."""
        out = [f"{self.kind}: {self.message}"]
        if self.location is not None:
            out.append(f"  --> {self.location.header()}")
            out.extend("  " + s for s in self.location.snippet())
        if self.hint:    # a long hint (every function's name) wrapped to 80 columns
            out.append(textwrap.fill(f"hint: {self.hint}", width=80, subsequent_indent="      ",
                                     break_long_words=False, break_on_hyphens=False))
        return "\n".join(out)

    def as_dict(self) -> dict:
        """The error as a JSON object (the web endpoint's ``error``): ``kind``,
        ``message``, ``hint`` and the place, ``file``, ``line``, ``column`` and
        ``path`` (None where unknown; see :class:`Location`)."""
        where = (self.location or Location()).as_dict()
        return {"kind": self.kind, "message": self.message, "hint": self.hint, **where}

    def __str__(self) -> str:
        return self.render()


class OutputError(MatcalcError):
    """Standard output cannot be written (closed, or the disk is full): exit
    code 2, a file problem, never 1 (which reads as "verification failed")."""


class InputError(MatcalcError):
    """Anything wrong with what the user gave us (exit code 2)."""


class FileError(InputError):
    """A FILE argument that is missing, unreadable or not a file."""

    kind = "file error"


class SpecError(InputError):
    """A well-formed YAML document whose content does not fit expr.yaml."""

    kind = "spec error"


class YamlError(SpecError):
    """Text that is not valid YAML (or uses YAML features we refuse)."""

    kind = "YAML error"


class ExprSyntaxError(InputError):
    """Text that is not an expression of the language."""

    kind = "syntax error"


class UnknownNameError(ExprSyntaxError):
    """A name that is neither a symbol, a dimension nor a function."""

    kind = "unknown name"


class ForbiddenSyntaxError(ExprSyntaxError):
    """Valid Python that the language refuses (attributes, lambdas, ...)."""

    kind = "not allowed"


class ShapeError(InputError):
    """Operands whose shapes do not fit the operation."""

    kind = "shape error"


class DerivationError(MatcalcError):
    """The expression is fine but has no result matcalc can state honestly
    (for instance, a derivative with no matrix form)."""

    kind = "cannot derive"
    exit_code = 2


class NoMatrixFormError(DerivationError):
    """The derivative exists but has no form in the expression language."""

    kind = "no matrix form"
