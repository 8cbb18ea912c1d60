"""Standard output and standard error as the command line writes them.

Everything the CLI prints goes through a :class:`Stream`, set up once per
stream when a command starts (:func:`stdout_settings`, :func:`stderr_settings`,
keyword arguments for a rich ``Console``), which decides:

- the width: COLUMNS when it is a positive number (``0``, ``-5``, ``abc`` are
  ignored as if unset; rich would print nothing at all for ``0``), else the
  terminal's, else 80; never less than MIN_WIDTH, since ``COLUMNS=5`` would
  break every word over lines;
- wrapping: on a terminal, long lines are wrapped to the width; piped or
  redirected they are not, so a result is one line a script can read;
- the characters: when the stream's encoding cannot hold the Unicode forms
  of the rendering (:data:`~matcalc.render.unicode.FORMS`: ∂, Σ, λ, ᵀ, ...;
  ``PYTHONIOENCODING=ascii``, or ``LC_ALL=C`` without Python's UTF-8 mode),
  everything written is spelled in ASCII (:func:`~matcalc.render.unicode.to_ascii`),
  and rich draws its tables in ASCII too (it goes by the same encoding);
- a failed write: on standard output an :class:`~matcalc.errors.OutputError`
  ("cannot write to standard output: No space left on device"), after which
  the descriptor points at /dev/null so the exit flush cannot fail again; a
  reader that went away (EPIPE) stays a BrokenPipeError, which the CLI ends
  quietly.  On standard error a failure is dropped: there is nowhere left to
  say it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from .errors import OutputError
from .render.unicode import FORMS, to_ascii

MIN_WIDTH = 60
MAX_WIDTH = 10_000
DEFAULT_SIZE = (80, 25)


class Stream:
    """A text stream for rich to write to: ASCII when the encoding needs it,
    and a failed write said once, clearly."""

    def __init__(self, stream: TextIO, name: str, strict: bool):
        self._stream = stream
        self.name = name
        self._strict = strict
        self._broken = False
        self.ascii = not encodes(getattr(stream, "encoding", None) or "utf-8", FORMS)

    @property
    def encoding(self) -> str:
        """The stream's own encoding: rich draws tables in ASCII unless it is a UTF one."""
        return getattr(self._stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, text: str) -> int:
        if self._broken:
            return len(text)
        if self.ascii:
            text = to_ascii(text)
        try:
            try:
                self._stream.write(text)
            except UnicodeEncodeError:   # a character outside FORMS (a user's description)
                self._stream.write(to_ascii(text))
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:   # ValueError: the stream was closed
            self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self._broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self._broken = True
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        if self._strict:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise OutputError(f"cannot write to {self.name}: {why}") from None


def encodes(encoding: str, text: str) -> bool:
    """Whether ``encoding`` can hold every character of ``text``."""
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def stdout_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Console keyword arguments for standard output; OutputError when it is closed
    (``matcalc derive F >&-``: Python gives None, and rich would print into nothing)."""
    if sys.stdout is None:
        raise OutputError("cannot write to standard output: it is closed",
                          hint="give the command somewhere to print, e.g. > out.txt")
    return _settings(Stream(sys.stdout, "standard output", strict=True), environ)


def stderr_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Console keyword arguments for standard error (messages: never wrapped)."""
    if sys.stderr is None:
        return {"stderr": True, "soft_wrap": True}   # closed: rich writes nowhere, as it must
    settings = _settings(Stream(sys.stderr, "standard error", strict=False), environ)
    return {**settings, "soft_wrap": True}


def _settings(stream: Stream, environ: Mapping[str, str]) -> dict[str, Any]:
    terminal = stream.isatty()
    width, height = size(stream if terminal else None, environ)
    return {"file": stream, "width": width, "height": height, "soft_wrap": not terminal}


def size(terminal: Stream | None, environ: Mapping[str, str]) -> tuple[int, int]:
    """(width, height): COLUMNS / LINES when they are positive numbers, else the
    terminal's, else 80 x 25; the width between MIN_WIDTH and MAX_WIDTH.

    Both are given to rich, which otherwise parses COLUMNS itself (``0`` gives
    a width of 0, a 5,000-digit value raises)."""
    columns, lines = _positive(environ.get("COLUMNS")), _positive(environ.get("LINES"))
    real = (0, 0)
    if terminal is not None:
        try:
            real = tuple(os.get_terminal_size(terminal.fileno()))
        except (OSError, ValueError, AttributeError):
            pass
    width = columns or real[0] or DEFAULT_SIZE[0]
    return min(max(width, MIN_WIDTH), MAX_WIDTH), lines or real[1] or DEFAULT_SIZE[1]


def _positive(value: str | None) -> int:
    """A positive decimal number of at most 6 digits, else 0."""
    if value is None or not re.fullmatch(r"\s*[0-9]{1,6}\s*", value):
        return 0
    return int(value)
