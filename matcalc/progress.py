"""How far a long check has got, drawn on stderr -- only when stderr is a
terminal, and only once the check has run for a while.

The check reports through a callback (``progress(text, done, total)``, see
:func:`matcalc.derive`); this module turns it into a rich progress bar that
disappears when the check ends.  Where stderr is a pipe or a file nothing is
drawn, so what is captured is the same as without it.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

AFTER = 2.0     # seconds a check runs before the bar appears (a short one shows none)


@contextmanager
def check_progress(stream=None, after: float = AFTER):
    """A ``progress`` callback for :func:`matcalc.derive` that draws on ``stream``
    (stderr), or None where ``stream`` is not a terminal."""
    stream = sys.stderr if stream is None else stream
    if not _terminal(stream):
        yield None
        return
    bar = _Bar(stream, after)
    try:
        yield bar.update
    finally:
        bar.close()


def _terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):    # (closed, or not a file at all)
        return False


class _Bar:
    """A rich progress bar, started at the first report that comes ``after`` seconds
    into the check."""

    def __init__(self, stream, after: float):
        self.stream, self.after = stream, after
        self.started: float | None = None
        self.progress = None
        self.task = None

    def update(self, text: str, done: float, total: float) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        if self.progress is None:
            if now - self.started < self.after:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                     console=Console(file=self.stream, highlight=False), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(text, total=total)
        self.progress.update(self.task, completed=done, total=total, description=text)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
