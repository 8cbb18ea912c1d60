"""Writing outputs safely: atomically (a temp file renamed into place), and
never over an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import FileError


def write_atomic(path: str | Path, text: str, protect: Iterable[str | Path] = ()) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new
    one, never half of one; refuse to write over any file in ``protect``."""
    path = Path(path)
    for p in protect:
        if Path(p).exists() and path.exists() and path.resolve() == Path(p).resolve():
            raise FileError(f"refusing to overwrite the input file {p}", hint="choose another output path")
    if path.is_dir():
        raise FileError(f"{path} is a directory", hint="give a file name such as grads.py")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise FileError(f"the directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
