"""Check a user's own gradient function against matcalc's derivation.

The question in the seeds ("I'm not very confident in my results; could
anyone check my work?") as a command: evaluate the user's function and
matcalc's verified result at random inputs that respect the props, and when
they differ say how (a constant factor, a transpose, a sign, a missing term).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .evaluate import evaluate
from .usercode import DEFAULT_TIMEOUT, UserProcess, call, load_function  # noqa: F401 (load_function: API)
from .verify import draw_inputs

TOLERANCE = 1e-6    # relative to the largest entry of matcalc's result


@dataclass(frozen=True)
class AgainstReport:
    symbol: str
    function: str
    max_abs_difference: float
    max_rel_difference: float
    agrees: bool
    diagnosis: str


def symbol_for(function_name: str, wrt: tuple[str, ...]) -> str:
    for prefix in ("grad_", "hess_", "d", ""):
        if function_name.startswith(prefix) and function_name[len(prefix):] in wrt:
            return function_name[len(prefix):]
    if len(wrt) == 1:
        return wrt[0]
    raise InputError(f"cannot tell which symbol {function_name} differentiates",
                     hint=f"name it grad_<symbol> or pass --wrt (one of {', '.join(wrt)})")


def check_against(derivation, function, symbol: str, *, seed: int = 0, trials: int = 3,
                  timeout: float | None = DEFAULT_TIMEOUT) -> AgainstReport:
    """Compare ``function`` with matcalc's ``symbol`` result at ``trials`` random inputs.

    ``function`` is a callable, run in this process (with no time limit: a
    thread cannot be stopped), or ``"FILE.py:NAME"``, run in a child process
    that is killed after ``timeout`` seconds per call (None: no limit).
    Anything it returns that is not an array of numbers, and anything it does
    instead of returning, is an InputError; an array that differs (a wrong
    shape, a NaN, a wrong number) is a report that does not agree.
    """
    p = derivation.problem
    result = derivation.results[symbol]
    rng = np.random.default_rng(seed)
    worst_abs = worst_rel = 0.0
    diagnosis = None
    with _runner(function, timeout) as (name, run):
        for _ in range(trials):
            values = draw_inputs([p.expr, result.matrix], p.symbols, p.dims, rng)
            ours = np.asarray(evaluate(result.matrix, values, p.dims), dtype=float)
            theirs = run(values, symbol, ours.shape)
            if theirs.shape != ours.shape:
                return AgainstReport(symbol, name, math.inf, math.inf, False,
                                     f"it returns shape {theirs.shape}, matcalc's result has shape {ours.shape}")
            same = (theirs == ours) | (np.isnan(theirs) & np.isnan(ours))     # ours is finite, as a rule
            with np.errstate(invalid="ignore"):
                largest = float(np.max(np.abs(np.where(same, 0.0, theirs - ours)), initial=0.0))  # nan stays
            scale = max(float(np.max(np.abs(ours[np.isfinite(ours)]), initial=0.0)), 1e-12)
            worst_abs, worst_rel = _worse(worst_abs, largest), _worse(worst_rel, largest / scale)
            if diagnosis is None and not largest / scale <= TOLERANCE:     # nan and inf differ too
                diagnosis = _diagnose(theirs, ours, result, values, p.dims)
    agrees = diagnosis is None
    return AgainstReport(symbol, name, worst_abs, worst_rel, agrees,
                         "it agrees with matcalc's verified result" if agrees else diagnosis)


@contextmanager
def _runner(function, timeout):
    """(the function's name, run(values, symbol, shape) -> float array) for either kind of ``function``."""
    if isinstance(function, str):
        with UserProcess(function, timeout) as process:
            yield process.name, process.call
    else:
        name = getattr(function, "__name__", "the function")
        yield name, lambda values, symbol, shape: call(function, name, values, symbol, shape)


def _worse(a: float, b: float) -> float:
    """The larger difference, NaN counting as the largest (``max(0.0, nan)`` is 0.0)."""
    return a if math.isnan(a) or not (math.isnan(b) or b > a) else b


def _close(a, b) -> bool:
    if np.size(b) == 0:
        return True
    return np.allclose(a, b, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(b)))))


def _diagnose(theirs, ours, result, values, dims) -> str:
    """How ``theirs`` differs from ``ours``, claiming only what the numbers show."""
    from .matrix.simplify import _terms
    from .render.text import to_text

    bad = ~np.isfinite(theirs) & np.isfinite(ours)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        more = int(np.count_nonzero(bad)) - 1
        return (f"it returns {float(theirs[first])}{_at(first)} where matcalc's result is "
                f"{float(ours[first]):.6g}" + (f" (and {more} more non-finite entries)" if more else ""))
    if not theirs.any():
        return "it returns zeros everywhere"
    if _close(theirs, -ours):
        return "it has the opposite sign"
    if ours.ndim == 2 and ours.shape[0] == ours.shape[1] and _close(theirs, ours.T):
        return "it is the transpose of the right answer"
    mask = np.abs(ours) > 1e-9
    if mask.any():
        ratio = theirs[mask] / ours[mask]
        if _factor(ratio.flat[0]) and np.allclose(ratio, ratio.flat[0], rtol=1e-6):
            return f"it is off by a constant factor of {ratio.flat[0]:.6g}"
    d = theirs - ours
    for sign, term in _terms(result.matrix):
        t = sign * np.broadcast_to(np.asarray(evaluate(term, values, dims), dtype=float), ours.shape)
        nz = np.abs(t) > 1e-9 * max(1.0, float(np.max(np.abs(t))))
        if not nz.any() or not _close(d[~nz], np.zeros(np.count_nonzero(~nz))):
            continue
        c = d[nz] / t[nz]
        if np.allclose(c, c.flat[0], rtol=1e-6, atol=1e-9):
            name = f"{'' if sign > 0 else '-'}{to_text(term)}"
            factor = 1 + float(c.flat[0])
            if abs(factor) < 1e-9:
                return f"it misses the term {name}"
            if _factor(factor):
                return f"its term {name} is {factor:.6g} times what it should be"
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(theirs - ours)), ours.shape))
    return (f"it differs most{_at(worst)}: "
            f"{float(theirs[worst]):.6g} instead of {float(ours[worst]):.6g}")


def _factor(x) -> bool:
    """Only a finite, nonzero ratio is "a constant factor" (inf or 0 says nothing of the sort)."""
    return bool(np.isfinite(x)) and x != 0


def _at(index: tuple) -> str:
    return f" at index {index}" if index else ""
