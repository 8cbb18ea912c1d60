"""Checking the emitted module itself: what "verified" means.

Every function the module defines is run on the same prop-respecting inputs
(inside the declared ``domain:``): each ``grad_S`` and ``jac_S`` is compared with
finite differences of the module's ``value``, each ``hess_S`` and ``hvp_S`` with
finite differences of the module's ``grad_S``, each ``hess_W1_W2`` with those of
``grad_W1`` along ``W2`` (:mod:`.parts`; in the column-stacking convention,
:mod:`.vec`), ``value_and_grad`` with the standalone functions and ``hvp_S`` with
``hess_S`` times the direction, and each derivative function passes the stability
probe (:mod:`.stability`).  A function that raises, or returns the wrong shape,
fails the check with that sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import ModuleType

import numpy as np

from ..evaluate import evaluate, exact_slopes, zero_over_zero
from ..ops import mp
from ..shapes import dim_size
from .budget import Progress
from .differences import FAILED, NOT_JUDGED, PASSED, Check, check_function
from .frozen import freezer
from .memory import needed
from .parts import Part, fixed_direction, hvp_disagreement, names, parts, with_direction
from .sample import draw_within, margin, solves
from .stability import points, probe, probe_dims
from .together import check_together, disagreement, together_names



# The most bytes (as float64) of intermediates a failed comparison's formula is evaluated
# with at 60 digits (each entry a Python number: a [m*n, m*n] Hessian at the declared dims
# would take minutes): past that, the failure stands as measured in float64.
PRECISE = 8 * 2 * 200_000


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
        check = _check_result(problem, results, r, module, seed, explain, stability, report(r.symbol))
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


def _check_result(p, results, r, module: ModuleType, seed: int, explain, stability: bool, spent=None) -> Check:
    """Every function of the module for ``r``, each judged against differences of
    another (:mod:`.parts`); the worst status wins, its sentence naming the function."""
    judged_parts = parts(p, results, r)
    constraints = tuple(getattr(p, "domain", ()))
    exprs = [p.expr, r.matrix] + [e for e in (r.gradient, r.hvp) if e is not None]

    def draw(rng):
        return draw_within(constraints, exprs, p.symbols, p.dims, rng)

    inside = (lambda v: margin(constraints, v, p.dims) > 0) if constraints else None
    missing = [n for n in names(p, r) if not callable(getattr(module, n, None))]
    if missing:
        return _failed(r, f"the emitted module defines no {missing[0]}()", "runs")

    point = draw(np.random.default_rng(seed))
    if point is not None:
        broken = _run_all(p, r, module, judged_parts, point, seed)
        if broken:
            return _failed(r, broken, "runs")

    def judged(part: Part) -> Check:
        """The check of ``part.name`` against differences of ``part.base``; where it fails,
        whether it is the formula or its float64 evaluation: the same formula at 60
        digits checked again."""
        sym, base_expr, exact = part.wrt, part.base_expr, part.exact
        common = dict(seed=seed, inside=inside, explain=explain, solve=solves(exprs, sym), progress=spent,
                      project=part.project, max_entries=0 if part.direction is not None else 400)
        f = _call(getattr(module, part.base), base_expr.shape, p.dims)
        fn = getattr(module, part.name)
        df, along, precise_along = _call(fn, exact.shape, p.dims), None, None
        if part.direction is not None:     # an HVP: run along each direction; sized by one of them
            d0 = fixed_direction(part, point, seed) if point is not None else None
            df = _call(lambda **v: fn(**with_direction(part, v, fixed_direction(part, v, seed))), exact.shape,
                       p.dims)
            along = lambda v, d: _call(lambda **w: fn(**with_direction(part, w, d)), exact.shape, p.dims)(v)  # noqa: E731
            precise_along = lambda v, d: evaluate(exact, with_direction(part, v, d), p.dims, precise=True)  # noqa: E731
        else:
            d0 = None
        f_exact = lambda v: evaluate(base_expr, v, p.dims, precise=True)   # noqa: E731
        slopes = lambda v, d, steps: exact_slopes(base_expr, v, p.dims, sym.name, d, steps)   # noqa: E731
        check = check_function(f, df, base_expr.rank, sym, p.symbols, draw, exact=f_exact, slopes=slopes,
                               freeze=freezer(base_expr, p.dims), along=along, **common)
        if check.cause == "differences" and part.base != "value":
            check = replace(check, why=f"{part.name} disagrees with finite differences of {part.base}" + (
                f" along {part.direction.name}" if part.direction is not None else ""))
        at = with_direction(part, point, d0) if point is not None else None
        if check.cause == "differences" and at is not None and zero_over_zero(exact, at, p.dims):
            return replace(check, status=NOT_JUDGED, cause="no point", why=(     # std of a constant vector
                f"{part.name}'s formula is 0/0 at the points drawn (a spread of equal entries divides their "
                "differences): the derivative does not exist there, so nothing is claimed"))
        if check.cause != "differences" or at is None or needed({}, [exact, base_expr], p.dims) > PRECISE \
                or not _close(fn(**at), evaluate(exact, at, p.dims, precise=True)):
            return check           # (code that is not the formula, even at an ordinary point, is wrong)
        precise = check_function(f, lambda v: evaluate(exact, with_direction(part, v, fixed_direction(
            part, v, seed)), p.dims, precise=True), base_expr.rank, sym, p.symbols, draw, exact=f_exact,
            freeze=freezer(base_expr, p.dims), along=precise_along, **common)
        if not precise.passed:
            return check
        return replace(check, cause="stability", why=(
            f"{part.name} loses digits at the check's large or small inputs: it disagrees with finite "
            "differences there, and the same formula evaluated at 60 digits does not"))

    check = _combine([(part.name, judged(part)) for part in judged_parts], r.symbol)
    if check.status != PASSED:
        return check
    if point is not None:
        disagree = _agreement(p, r, module, judged_parts, point, seed)
        if disagree:
            return replace(check, status=FAILED, why=disagree, cause="agreement")
    if stability:
        found = _probe(p, r, module, judged_parts, exprs, constraints, seed)
        if found is not None:
            return replace(check, status=FAILED, why=found.sentence(), cause="stability")
    return check


def _probe(p, r, module, judged_parts, exprs, constraints, seed: int):
    """The stability probe of every judged function (:mod:`.stability`): the first that
    fails, or None."""
    rng = np.random.default_rng(seed + 1)
    dims = probe_dims(p.symbols, p.dims)
    candidates = [(where, v) for where, v in points(p.expr, exprs, constraints, p.symbols, dims, rng)
                  if _finite_value(module.value, v)]     # (where the value itself overflows, nothing is owed)
    for part in judged_parts:
        fn = getattr(module, part.name)
        exact = part.exact
        if part.direction is not None:      # along one direction per shape, the same in both
            fn = (lambda g, q: lambda **v: g(**with_direction(q, v, fixed_direction(q, v, seed))))(fn, part)
            exact = (lambda e, q: lambda v, digits=mp.DPS: evaluate(
                e, with_direction(q, v, fixed_direction(q, v, seed)), dims, precise=True, digits=digits))(
                part.exact, part)
        found = probe(part.name, fn, exact, candidates, dims, p.symbols, rng)
        if not found.passed:
            return found
    return None


def _finite_value(value, point) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.all(np.isfinite(np.asarray(value(**point), dtype=float))))
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            return False


def _run_all(p, r, module, judged_parts, point, seed: int) -> str:
    """Why some function fails to run at ``point`` (raises, or returns the wrong shape), or ''."""
    sizes = {d: n for d, n in p.dims.items()}
    shapes = {"value": p.expr.shape, **{part.name: part.exact.shape for part in judged_parts}}
    calls = {name: (getattr(module, name), point) for name in names(p, r)}
    for part in judged_parts:
        if part.direction is not None:
            calls[part.name] = (calls[part.name][0], with_direction(part, point, fixed_direction(part, point, seed)))
    for name, (fn, values) in calls.items():
        try:
            with np.errstate(all="ignore"):
                out = fn(**values)
        except np.linalg.LinAlgError:
            continue       # a singular matrix at this point: outside the domain, not a fault of the code
        except Exception as exc:   # noqa: BLE001  (whatever the emitted code raises is the finding)
            return f"{name}() raises {type(exc).__name__}: {exc}"
        if name in shapes:
            want = tuple(dim_size(d, sizes) for d in shapes[name])
            if np.shape(out) != want:
                return f"{name}() returns shape {np.shape(out)}, not {want}"
    return ""


def _agreement(p, r, module, judged_parts, point, seed: int) -> str:
    """Why the functions disagree with each other at ``point``, or '': ``value_and_grad``
    with ``value`` and ``grad_S``, a Jacobian's ``grad_S`` with its ``jac_S``, and an HVP
    with the Hessian times the direction."""
    with np.errstate(all="ignore"):
        try:
            value = None
            if r.kind != "mixed":
                both = module.value_and_grad(**point)
                value = module.value(**point)
                grad = getattr(module, f"grad_{r.symbol}" if r.kind != "jacobian" else f"jac_{r.symbol}")(**point)
                found = disagreement(r.symbol, point, value, grad, *both)
                if found:
                    return found
            twin = getattr(module, f"grad_{r.symbol}", None) if r.kind == "jacobian" else None
            if twin is not None and not np.array_equal(np.asarray(twin(**point)), np.asarray(grad), equal_nan=True):
                return f"grad_{r.symbol}() and jac_{r.symbol}() disagree"
            for part in judged_parts:
                if part.direction is not None:
                    found = hvp_disagreement(part, getattr(module, f"hess_{r.symbol}"), getattr(module, part.name),
                                             getattr(module, f"grad_{r.symbol}"), point, seed, value)
                    if found:
                        return found
        except np.linalg.LinAlgError:
            return ""      # a singular matrix at this point: nothing to compare
    return ""


def _close(got, want, tolerance: float = 1e-6) -> bool:
    """``got`` is ``want`` to ``tolerance`` relative to its largest entry."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape or not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        return False
    return bool(np.max(np.abs(got - want), initial=0.0) <= tolerance * np.max(np.abs(want), initial=1e-300))


def _combine(checks: list[tuple[str, Check]], symbol: str) -> Check:
    """A result's check from its parts' (each named by its function): the worst status
    wins, its sentence naming the function; the figures are the largest."""
    rank = {PASSED: 0, NOT_JUDGED: 1, FAILED: 2}
    name, worst = max(checks, key=lambda nc: rank[nc[1].status])
    last = checks[-1][1]
    why = worst.why if not worst.why or worst.why.startswith(name) or len(checks) == 1 else f"{name}: {worst.why}"
    return Check(symbol, last.shape, max(c.max_abs_error for _, c in checks),
                 max(c.max_rel_error for _, c in checks), last.directions, max(c.entries for _, c in checks),
                 worst.status, last.scales, why, worst.cause)


def _failed(r, why: str, cause: str) -> Check:
    return Check(r.symbol, (), float("nan"), float("nan"), 0, 0, FAILED, (), why, cause)
