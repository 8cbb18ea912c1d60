"""Running the user's own Python for ``matcalc check --against FILE.py:FUNCTION``.

The user asked for their file to be run by naming it (as pytest runs test
files), but nothing it does may end or hang matcalc: :class:`UserProcess`
imports it and calls the function in a child Python process (multiprocessing,
spawn context), so a function that never returns is killed after a timeout,
and ``sys.exit`` / ``os._exit`` / a segfault end the child, not us.  The
child's stdout is its stderr: the user's prints cannot mix with the report.

Whichever way the function is run, what comes back is a float array or an
:class:`~matcalc.errors.InputError` saying what the user's code did: one
mechanism (:func:`call`, :func:`as_array`) serves the child and in-process
callers alike.
"""

from __future__ import annotations

import importlib.util
import math
import multiprocessing
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from . import errors
from .errors import FileError, InputError

DEFAULT_TIMEOUT = 60.0
STARTUP_LIMIT = 300.0   # seconds for the child interpreter to start: our code, not the user's

# In the child SIGINT is ignored (Ctrl-C is the parent's, which then kills the child), so a
# KeyboardInterrupt there was raised by the user's code and is reported like any exception;
# in-process it may be a real Ctrl-C and must go on to the CLI.
_in_child = False


def parse_spec(spec: str) -> tuple[Path, str]:
    """``path/to/file.py:name`` -> (an existing file, a Python name); a usage error otherwise."""
    if ":" not in spec:
        raise InputError(f"--against needs FILE.py:FUNCTION, not {spec!r}", hint="e.g. my_grads.py:grad_W")
    path_text, name = spec.rsplit(":", 1)
    if not name.strip():
        raise InputError(f"--against {spec!r} names no function after the ':'",
                         hint="give FILE.py:FUNCTION, e.g. my_grads.py:grad_W")
    if not name.isidentifier():
        raise InputError(f"--against {spec!r}: {name!r} is not a Python function name",
                         hint="give FILE.py:FUNCTION, e.g. my_grads.py:grad_W")
    path = Path(path_text)
    if not path.is_file():
        raise FileError(f"no such file: {path}" if not path.exists() else f"not a file: {path}")
    return path, name


def load_function(spec: str):
    """The callable ``FILE.py:NAME`` names, imported in this process."""
    path, name = parse_spec(spec)
    module_name = f"_matcalc_user_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise FileError(f"cannot import {path} as Python", hint="name a .py file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except _caught() as exc:  # the user's file failed: say so, without our traceback
        raise _user_failure(f"importing {path}", exc) from None
    if not hasattr(module, name):
        raise InputError(f"{path} defines no {name!r}")
    function = getattr(module, name)
    if not callable(function):
        raise InputError(f"{name} is {_a(function)}, not a function", hint=f"--against names a function of {path}")
    return function


def call(function, name: str, values: dict, symbol: str, shape: tuple) -> np.ndarray:
    """``function(**values)`` (on copies) as a float array of any shape, or an InputError."""
    try:
        returned = function(**{k: np.array(v, copy=True) for k, v in values.items()})
    except _caught() as exc:
        hint = None
        if isinstance(exc, TypeError):
            hint = "it is called with the symbols as keyword arguments " + ", ".join(f"{k}=..." for k in values)
        raise _user_failure(name, exc, hint) from None
    return as_array(returned, name, symbol, shape)


def as_array(returned, name: str, symbol: str, shape: tuple) -> np.ndarray:
    """What the function returned as float64; ``(value, {symbol: grad})``, as a
    ``value_and_grad`` returns, stands for its ``grad``."""
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict):
        if symbol not in returned[1]:
            raise InputError(f"{name} returned (value, grads) whose grads have no {symbol!r}",
                             hint=f"grads[{symbol!r}] should be an array of shape {shape}")
        returned = returned[1][symbol]
    hint = f"it should return ∂J/∂{symbol}, an array of numbers of shape {shape}"
    if returned is None:
        raise InputError(f"{name} returned None, not an array of numbers", hint=hint + " (is a return missing?)")
    if isinstance(returned, (str, bytes, dict)):
        raise InputError(f"{name} returned {_a(returned)}, not an array of numbers", hint=hint)
    try:
        array = np.asarray(returned)    # may run the user's code (__array__, __len__, ...)
        if array.dtype.kind == "O":
            array = array.astype(float)
    except _caught() as exc:
        raise InputError(f"{name} returned {_a(returned)} that is not an array of numbers",
                         hint=f"{hint}; numpy says: {_text(exc)}") from None
    if array.dtype.kind == "c" and np.any(array.imag != 0):
        raise InputError(f"{name} returned complex values (imaginary parts up to "
                         f"{float(np.max(np.abs(array.imag))):.3g})", hint=hint)
    if array.dtype.kind not in "biufc":
        raise InputError(f"{name} returned values of dtype {array.dtype}, not an array of numbers",
                         hint=hint)
    return np.real(array).astype(float)


def _caught():
    return BaseException if _in_child else (Exception, SystemExit)


def _user_failure(doing: str, exc: BaseException, hint: str | None = None) -> InputError:
    if isinstance(exc, SystemExit):
        return InputError(f"{doing} called sys.exit({exc.code!r})",
                          hint="matcalc runs your code to compare it; it must not exit")
    verb = "failed:" if doing.startswith("importing") else "raised"
    detail = f": {_text(exc)}" if _text(exc) else ""
    return InputError(f"{doing} {verb} {type(exc).__name__}{detail}", hint=hint)


def _text(exc: BaseException) -> str:
    """str(exc), which runs the user's __str__ and so may raise too."""
    try:
        return str(exc)
    except Exception:  # noqa: BLE001
        return f"(its message could not be shown: {type(exc).__name__}.__str__ failed)"


def _a(value) -> str:
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def checked_timeout(timeout: float | None) -> float | None:
    """Seconds, or None for no limit (``inf``); anything else is a usage error."""
    if timeout is None or timeout == math.inf:
        return None
    if not timeout > 0:     # also nan
        raise InputError(f"--timeout must be a positive number of seconds, not {timeout:g}",
                         hint=f"the default is {DEFAULT_TIMEOUT:g}")
    return float(timeout)


class UserProcess:
    """``FILE.py:NAME`` imported in a child process; :meth:`call` runs it there.

    Each step the user's code takes (the import, each call) has ``timeout``
    seconds; past that, or when the child dies, the step is one InputError.
    Leaving the ``with`` block kills the child whatever state it is in.
    """

    def __init__(self, spec: str, timeout: float | None = DEFAULT_TIMEOUT):
        self.path, self.name = parse_spec(spec)
        self.timeout = checked_timeout(timeout)

    def __enter__(self) -> UserProcess:  # noqa: PYI034 (no typing.Self on 3.10)
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, str(self.path), self.name),
                                        name="matcalc-user-code", daemon=True)
        try:
            self._process.start()
        finally:
            child_end.close()       # so the child's death reads as end-of-file here
        try:
            self._receive(STARTUP_LIMIT, None)
            self._receive(self.timeout, f"importing {self.path}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def call(self, values: dict, symbol: str, shape: tuple) -> np.ndarray:
        try:
            self._conn.send((values, symbol, shape))
        except OSError:     # the child is gone (a thread of the user's ended it): _receive says how
            pass
        return self._receive(self.timeout, self.name)

    def __exit__(self, *exc_info) -> None:
        """Kill the child: it may be looping in the user's code, or ignoring SIGTERM."""
        self._process.kill()
        self._process.join()
        self._conn.close()

    def _receive(self, limit: float | None, doing: str | None):
        """The child's next answer; ``doing`` is the user's step (None: our own start-up)."""
        if not self._conn.poll(limit):
            if doing is None:
                raise RuntimeError(f"the child process for the user's code did not start within {limit:g} s")
            verb = "did not finish" if doing.startswith("importing") else "did not return"
            raise InputError(f"{doing} {verb} within {limit:g} s; it was stopped",
                             hint=f"--timeout SECONDS gives it longer (default {DEFAULT_TIMEOUT:g}); "
                                  "does it loop forever, or wait for input?")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            self._process.join()
            if doing is None:
                raise RuntimeError(f"the child process for the user's code ended at start-up "
                                   f"({_how(self._process.exitcode)})") from None
            raise InputError(f"{doing} ended the process running it ({_how(self._process.exitcode)}) "
                             "instead of returning",
                             hint="matcalc runs your code in a separate process to compare it; "
                                  "it must return, not exit or crash") from None
        if kind == "error":
            kind_name, message, hint = payload
            raise getattr(errors, kind_name, InputError)(message, hint=hint)
        if kind == "bug":
            raise RuntimeError(payload)
        return payload


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _end_with_parent() -> None:
    """Exit when matcalc does, even killed (SIGTERM, SIGKILL) without killing us:
    a child looping in the user's code must not outlive it."""
    multiprocessing.parent_process().join()
    os._exit(1)


def _serve(conn, path: str, name: str) -> None:
    """The child: import the user's file, then answer calls until the parent hangs up."""
    global _in_child
    _in_child = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with_parent, daemon=True).start()
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())    # the user's prints go to stderr
    conn.send(("ok", "ready"))
    try:
        function = load_function(f"{path}:{name}")
        conn.send(("ok", None))
        while True:
            try:
                values, symbol, shape = conn.recv()
            except EOFError:
                return
            conn.send(("ok", call(function, name, values, symbol, shape)))
    except InputError as err:
        conn.send(("error", (type(err).__name__, err.message, err.hint)))
    except Exception as exc:  # noqa: BLE001 -- a bug here, not in the user's code (that is caught above)
        conn.send(("bug", f"{type(exc).__name__}: {exc}"))
