"""Checking the emitted module itself: what "verified" means.

Every function the module defines is run on the same prop-respecting inputs
(inside the declared ``domain:``): each ``grad_S`` is compared with finite
differences of the module's ``value``, each ``hess_S`` with finite differences
of the module's ``grad_S``, ``value_and_grad`` with the standalone functions,
and each derivative function passes the stability probe
(:mod:`.stability`).  A function that raises, or returns the wrong shape,
fails the check with that sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import ModuleType

import numpy as np

from ..evaluate import evaluate, exact_slopes, zero_over_zero
from ..shapes import dim_size
from .budget import Progress
from .differences import FAILED, NOT_JUDGED, PASSED, Check, check_function
from .frozen import freezer
from .sample import draw_within, margin, solves
from .stability import points, probe, probe_dims
from .together import check_together, disagreement, together_names



def check_module(problem, results: Mapping, module: ModuleType, *, seed: int = 0,
                 explain: Callable[[Mapping[str, np.ndarray]], str] | None = None,
                 stability: bool = True, progress: Progress | None = None) -> dict[str, Check]:
    """One :class:`Check` per result, each judging the module's functions for it.

    Many gradients of plain symbols (more than :data:`~.together.SEPARATELY`)
    are checked together, as one vector (:mod:`.together`): one at a time, each
    check would evaluate the whole module again, and the check would grow with
    the square of the number of symbols.  ``progress(text, done, total)`` hears
    how far it has got, in results."""
    total = len(results)
    done, shown = [0.0], [0.0]

    def report(name: str, weight: float = 1.0) -> Callable[[int, int], None] | None:
        """A budget's ``spent`` callback for the check of ``name``, worth ``weight`` results
        (forward only: a Hessian's second check, or a check run again, does not go back)."""
        if progress is None:
            return None
        start = done[0]

        def spent(used: int, limit: int) -> None:
            shown[0] = max(shown[0], min(total, start + weight * used / limit))
            progress(f"checking {name}", shown[0], total)
        return spent

    def one(r) -> Check:
        check = _check_result(problem, r, module, seed, explain, stability, report(r.symbol))
        done[0] += 1
        return check

    out: dict[str, Check] = {}
    names = together_names(problem, results)
    if names:
        out.update(check_together(problem, results, module, names, one, seed=seed, explain=explain,
                                  stability=stability, report=report, advance=lambda n: _advance(done, n)))
    for name, r in results.items():
        if name not in out:
            out[name] = one(r)
    return {name: out[name] for name in results}


def _advance(done: list[float], n: float) -> None:
    done[0] += n


def _call(fn, shape, dims):
    """``fn`` as a function of the symbols' values; a singular matrix (numpy raises
    LinAlgError in solve or inv) gives NaN, as ``inv`` of one does in the evaluator:
    the input has left the domain, like a log of a negative number."""
    def call(values):
        try:
            return fn(**values)
        except np.linalg.LinAlgError:
            return np.full(tuple(dim_size(d, dims) for d in shape), np.nan)
    return call


def _check_result(p, r, module: ModuleType, seed: int, explain, stability: bool, spent=None) -> Check:
    sym = p.symbols[r.symbol]
    constraints = tuple(getattr(p, "domain", ()))
    exprs = [p.expr, r.matrix] + ([r.gradient] if r.gradient is not None else [])

    def draw(rng):
        return draw_within(constraints, exprs, p.symbols, p.dims, rng)

    inside = (lambda v: margin(constraints, v, p.dims) > 0) if constraints else None
    kind = "hess" if r.kind == "hessian" else "grad"
    names = ["value", f"{kind}_{r.symbol}"] + ([f"grad_{r.symbol}"] if kind == "hess" else []) + ["value_and_grad"]
    missing = [n for n in names if not callable(getattr(module, n, None))]
    if missing:
        return _failed(r, f"the emitted module defines no {missing[0]}()", "runs")
    value, derivative = module.value, getattr(module, f"{kind}_{r.symbol}")
    gradient = getattr(module, f"grad_{r.symbol}")

    point = draw(np.random.default_rng(seed))
    if point is not None:
        broken = _run_all(p, r, module, names, point)
        if broken:
            return _failed(r, broken, "runs")

    common = dict(seed=seed, inside=inside, explain=explain, solve=solves(exprs, sym), progress=spent)
    f_value = _call(value, p.expr.shape, p.dims)
    f_derivative = _call(derivative, r.shape, p.dims)

    def judged(name, f, df, exact, out_rank, f_expr):
        """The check of ``df`` against differences of ``f`` (the module's function for
        ``f_expr``); where it fails, whether it is the formula or its float64 evaluation:
        the same formula at 60 digits checked again."""
        f_exact = lambda v: evaluate(f_expr, v, p.dims, precise=True)   # noqa: E731
        slopes = lambda v, d, steps: exact_slopes(f_expr, v, p.dims, sym.name, d, steps)   # noqa: E731
        check = check_function(f, df, out_rank, sym, p.symbols, draw, exact=f_exact, slopes=slopes,
                               freeze=freezer(f_expr, p.dims), **common)
        if check.cause == "differences" and point is not None and zero_over_zero(exact, point, p.dims):
            return replace(check, status=NOT_JUDGED, cause="no point", why=(     # std of a constant vector
                f"{name}'s formula is 0/0 at the points drawn (a spread of equal entries divides their "
                "differences): the derivative does not exist there, so nothing is claimed"))
        if check.cause != "differences" or point is None or not _close(df(point), evaluate(
                exact, point, p.dims, precise=True)):
            return check           # (code that is not the formula, even at an ordinary point, is wrong)
        precise = check_function(f, lambda v: evaluate(exact, v, p.dims, precise=True), out_rank, sym,
                                 p.symbols, draw, exact=f_exact, freeze=freezer(f_expr, p.dims), **common)
        if not precise.passed:
            return check
        return replace(check, cause="stability", why=(
            f"{name} loses digits at the check's large or small inputs: it disagrees with finite "
            "differences there, and the same formula evaluated at 60 digits does not"))

    if kind == "grad":
        check = judged(f"{kind}_{r.symbol}", f_value, f_derivative, r.matrix, p.expr.rank, p.expr)
    else:
        f_gradient = _call(gradient, r.gradient.shape, p.dims)
        first = judged(f"grad_{r.symbol}", f_value, f_gradient, r.gradient, 0, p.expr)
        second = judged(f"hess_{r.symbol}", f_gradient, f_derivative, r.matrix, r.gradient.rank, r.gradient)
        check = _combine(first, second, f"grad_{r.symbol}", f"hess_{r.symbol}")
    if check.status != PASSED:
        return check
    if point is not None:
        disagree = _together(p, r, module, point)
        if disagree:
            return replace(check, status=FAILED, why=disagree, cause="agreement")
    if stability:
        rng = np.random.default_rng(seed + 1)
        dims = probe_dims(p.symbols, p.dims)
        candidates = [(where, v) for where, v in points(p.expr, exprs, constraints, p.symbols, dims, rng)
                      if _finite_value(value, v)]     # (where the value itself overflows, nothing is owed)
        targets = [(f"{kind}_{r.symbol}", derivative, r.matrix)]
        if kind == "hess":
            targets.append((f"grad_{r.symbol}", gradient, r.gradient))
        for name, fn, exact in targets:
            found = probe(name, fn, exact, candidates, dims, p.symbols, rng)
            if not found.passed:
                return replace(check, status=FAILED, why=found.sentence(), cause="stability")
    return check


def _finite_value(value, point) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.all(np.isfinite(np.asarray(value(**point), dtype=float))))
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            return False


def _run_all(p, r, module, names, point) -> str:
    """Why some function fails to run at ``point`` (raises, or returns the wrong shape), or ''."""
    sizes = {d: n for d, n in p.dims.items()}
    shapes = {"value": p.expr.shape, f"{'hess' if r.kind == 'hessian' else 'grad'}_{r.symbol}": r.shape}
    if r.kind == "hessian":
        shapes[f"grad_{r.symbol}"] = r.gradient.shape
    for name in names:
        try:
            with np.errstate(all="ignore"):
                out = getattr(module, name)(**point)
        except np.linalg.LinAlgError:
            continue       # a singular matrix at this point: outside the domain, not a fault of the code
        except Exception as exc:   # noqa: BLE001  (whatever the emitted code raises is the finding)
            return f"{name}() raises {type(exc).__name__}: {exc}"
        if name in shapes:
            want = tuple(dim_size(d, sizes) for d in shapes[name])
            if np.shape(out) != want:
                return f"{name}() returns shape {np.shape(out)}, not {want}"
    return ""


def _together(p, r, module, point) -> str:
    """Why ``value_and_grad`` disagrees with ``value`` and ``grad_S``, or ''."""
    with np.errstate(all="ignore"):
        try:
            both = module.value_and_grad(**point)
            value = module.value(**point)
            grad = getattr(module, f"grad_{r.symbol}")(**point)
        except np.linalg.LinAlgError:
            return ""      # a singular matrix at this point: nothing to compare
    return disagreement(r.symbol, point, value, grad, *both)


def _close(got, want, tolerance: float = 1e-6) -> bool:
    """``got`` is ``want`` to ``tolerance`` relative to its largest entry."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape or not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        return False
    return bool(np.max(np.abs(got - want), initial=0.0) <= tolerance * np.max(np.abs(want), initial=1e-300))


def _combine(first: Check, second: Check, first_name: str, second_name: str) -> Check:
    """A Hessian's check from its two parts: the gradient against the value, then
    the Hessian against the gradient; the worse status wins."""
    rank = {PASSED: 0, NOT_JUDGED: 1, FAILED: 2}
    worst, name = max(((first, first_name), (second, second_name)), key=lambda cn: rank[cn[0].status])
    why = worst.why if not worst.why or worst.why.startswith(name) else f"{name}: {worst.why}"
    return Check(second.symbol, second.shape, max(first.max_abs_error, second.max_abs_error),
                 max(first.max_rel_error, second.max_rel_error), second.directions, second.entries,
                 worst.status, second.scales, why, worst.cause)


def _failed(r, why: str, cause: str) -> Check:
    return Check(r.symbol, (), float("nan"), float("nan"), 0, 0, FAILED, (), why, cause)
