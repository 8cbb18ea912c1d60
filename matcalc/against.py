"""Check a user's own gradient function against matcalc's derivation.

The question in the seeds ("I'm not very confident in my results; could
anyone check my work?") as a command: evaluate the user's function and
matcalc's verified result at random inputs that respect the props, and when
they differ say how (a constant factor, a transpose, a sign, a missing term).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FileError, InputError
from .evaluate import evaluate
from .verify import draw_inputs


@dataclass(frozen=True)
class AgainstReport:
    symbol: str
    function: str
    max_abs_difference: float
    max_rel_difference: float
    agrees: bool
    diagnosis: str


def load_function(spec: str):
    """``path/to/file.py:name`` -> the callable.  This runs the user's own file,
    which they asked for by naming it (as pytest runs test files)."""
    if ":" not in spec:
        raise InputError(f"--against needs FILE.py:FUNCTION, not {spec!r}", hint="e.g. my_grads.py:grad_W")
    path_text, name = spec.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise FileError(f"no such file: {path}")
    module_name = f"_matcalc_user_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise FileError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # the user's file failed: say so, without our traceback
        raise InputError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, name):
        raise InputError(f"{path} defines no {name!r}")
    return getattr(module, name)


def symbol_for(function_name: str, wrt: tuple[str, ...]) -> str:
    for prefix in ("grad_", "hess_", "d", ""):
        if function_name.startswith(prefix) and function_name[len(prefix):] in wrt:
            return function_name[len(prefix):]
    if len(wrt) == 1:
        return wrt[0]
    raise InputError(f"cannot tell which symbol {function_name} differentiates",
                     hint=f"name it grad_<symbol> or pass --wrt (one of {', '.join(wrt)})")


def check_against(derivation, function, symbol: str, *, seed: int = 0, trials: int = 3) -> AgainstReport:
    p = derivation.problem
    result = derivation.results[symbol]
    rng = np.random.default_rng(seed)
    worst_abs = worst_rel = 0.0
    diagnoses: list[str] = []
    for _ in range(trials):
        values = draw_inputs([p.expr, result.matrix], p.symbols, p.dims, rng)
        ours = np.asarray(evaluate(result.matrix, values, p.dims), dtype=float)
        try:
            theirs = function(**{k: v.copy() for k, v in values.items()})
        except Exception as exc:
            raise InputError(f"{getattr(function, '__name__', 'the function')} raised "
                             f"{type(exc).__name__}: {exc}") from None
        if isinstance(theirs, tuple) and len(theirs) == 2 and isinstance(theirs[1], dict):
            theirs = theirs[1].get(symbol)
        theirs = np.asarray(theirs, dtype=float)
        if theirs.shape != ours.shape:
            return AgainstReport(symbol, getattr(function, "__name__", "?"), float("inf"), float("inf"), False,
                                 f"it returns shape {theirs.shape}, matcalc's gradient has shape {ours.shape}")
        diff = np.abs(theirs - ours)
        scale = max(float(np.max(np.abs(ours))), 1e-12)
        worst_abs = max(worst_abs, float(np.max(diff)))
        worst_rel = max(worst_rel, float(np.max(diff)) / scale)
        diagnoses.append(_diagnose(theirs, ours, result, values, p.dims))
    agrees = worst_rel <= 1e-6
    diagnosis = "it agrees with matcalc's verified result" if agrees else diagnoses[0]
    return AgainstReport(symbol, getattr(function, "__name__", "?"), worst_abs, worst_rel, agrees, diagnosis)



def _close(a, b) -> bool:
    if np.size(b) == 0:
        return True
    return np.allclose(a, b, rtol=1e-6, atol=1e-9 * max(1.0, float(np.max(np.abs(b)))))


def _diagnose(theirs, ours, result, values, dims) -> str:
    from .matrix.simplify import _terms
    from .render.text import to_text

    if _close(theirs, -ours):
        return "it has the opposite sign"
    if ours.ndim == 2 and ours.shape[0] == ours.shape[1] and _close(theirs, ours.T):
        return "it is the transpose of the right answer"
    mask = np.abs(ours) > 1e-9
    if mask.any():
        ratio = theirs[mask] / ours[mask]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-6):
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
            return f"its term {name} is {factor:.6g} times what it should be"
    worst = np.unravel_index(np.argmax(np.abs(theirs - ours)), ours.shape)
    return (f"it differs most at index {tuple(int(i) for i in worst)}: "
            f"{float(theirs[worst]):.6g} instead of {float(ours[worst]):.6g}")
