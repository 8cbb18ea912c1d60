"""Central finite differences of a value against its derivative, at random
points and several scales: the core of the check.

The check is by random projection, as HIPS/autograd's checker does: for a
direction ``V`` in the symbol's prop space (symmetric ``V`` for a symmetric
symbol, rows summing to 0 for a stochastic one), compare ``<G, V>`` with the
central difference of ``f`` along ``V``.  Small symbols are also checked
entry by entry (symmetric pairs for symmetric symbols).

Step and tolerances: the difference is the five-point stencil
``(8(f(X+hV) - f(X-hV)) - (f(X+2hV) - f(X-2hV))) / 12h`` with
``h = 1e-3 * min(1, max|X|)`` (and below 1% of the smallest eigenvalue of an
spd symbol that goes through a solve), ``V`` of Frobenius norm at most 1; its
truncation error is O(h^4) and its rounding error about ``eps |f| / h``
(times the condition number of a square symbol that goes through a solve),
or, when larger, the scatter of ``f`` about a parabola through nine points
within ``h / 100`` of ``X``, divided by ``h`` (``cos(M @ N)`` with entries
of 1e6 carries rounding noise of ``eps 1e6`` in its argument).  A comparison passes when its
error is at most ``1e-6`` times its size (the larger of the two sides, and at least 0.1% of
``|G| |V|``) plus that rounding floor.  A gradient 0.1% off is 1000 times over the tolerance.

Scales: the inputs are drawn once and checked at scales 1, 1e-3 and 1e3.  Where the value is
not finite at the drawn point, it is shrunk (x0.1, x0.01) and then drawn again; where no point
works the result is *not judged*, never failed with NaN.  Scale 1 is always judged (with the tight noise model; where ``step(x)`` jumps
within every step of a comparison, that comparison is left out, and a point
where none is left is drawn again).  The extra scales are skipped where float64
cannot judge them: the expression overflows; ``f`` scatters by more than
1e-8 of its size, or moves in steps as coarse as ``h``, or does not move
where its derivative says it does (:func:`.noise.unresolvable`); and a single
comparison is left out when its differences never settle or sit on a kink
no step resolves (:func:`.noise.kink`).  An error that shows only at 1e3 (say,
``1e-9 X³`` added to a gradient) is still caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .. import ir
from .budget import EVALUATIONS, SCALE_WORST, WORST_COMPARISON, Budget, Spent
from .noise import kink, scatter_of, unresolvable
from .sample import UNSCALED, direction, entry_count, entry_directions, scaled
from .vec import along as predict

REL_TOL = 1e-6
STEP = 1e-3
EPS = np.finfo(float).eps

PASSED, FAILED, NOT_JUDGED = "passed", "failed", "not judged"


@dataclass(frozen=True)
class Check:
    """The outcome of verifying one derivative: ``status`` is ``passed``,
    ``failed`` or ``not judged``; ``why`` is one sentence when it is not passed,
    and ``cause`` its kind: ``differences`` (finite differences disagree),
    ``stability`` (the probe), ``runs`` (a function raises, returns the wrong
    shape, or the module does not load), ``agreement`` (``value_and_grad``
    against the standalone functions), ``no point`` (nowhere finite or inside
    the domain) or ``unresolvable`` (jumps within every step)."""

    symbol: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    directions: int
    entries: int
    status: str
    scales: tuple[float, ...] = (1.0,)
    why: str = ""
    cause: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED


SCALES = (1.0, 1e-3, 1e3)
POINTS = 3      # finite random points tried for one where the first scale can be judged
DRAWS = 10      # random points drawn for those (a point where the value is not finite is drawn again)

Values = Mapping[str, np.ndarray]
Fn = Callable[[Values], np.ndarray]


def check_function(f: Fn, df: Fn, out_rank: int, wrt: ir.Symbol, symbols, draw, *, seed: int = 0,
                   directions: int = 4, max_entries: int = 400, values: Values | None = None,
                   scales: tuple[float, ...] = SCALES, inside: Callable[[Values], bool] | None = None,
                   explain: Callable[[Values], str] | None = None, solve: bool = True,
                   evaluations: int = EVALUATIONS, progress: Spent | None = None,
                   exact: Fn | None = None, slopes: Callable | None = None, freeze=None,
                   along: Callable | None = None, project: Callable | None = None) -> Check:
    """Compare ``df`` with central differences of ``f`` (functions of the symbols'
    values, ``f`` of rank ``out_rank``) at random points ``draw(rng)`` (None when
    no point can be drawn inside the declared domain).

    ``df`` has shape ``f.shape + wrt.shape`` collapsed as matcalc states results:
    the gradient of a scalar has the shape of ``wrt``; the Jacobian of a vector
    w.r.t. a vector is ``[out, in]``; past two axes the 2-D ``[size(f), size(wrt)]``
    of the vec convention (:mod:`.vec`).  ``along(values, v)``, where given, is the
    predicted change along ``v`` itself (a Hessian-vector product; ``df`` then only
    sizes it), and ``project`` the part of ``f``'s output that is compared (its
    symmetric part where ``f`` is the gradient of a symmetric symbol).

    The inputs are drawn once and checked at several scales (x1, x1e-3, x1e3:
    symbols whose props fix their size, such as orthogonal or onehot ones, keep
    it).  Where the value is not finite, the point is drawn again (at the extra
    scales too, scaled); a scale where it stays so (or leaves the domain,
    ``inside``) is skipped, but the first one must be judged, at one of up to
    :data:`POINTS` finite points; where none can be, the result is *not
    judged*, with ``explain(point)`` saying why.  ``values`` fixes the inputs
    (one point, one scale).

    ``solve`` says whether ``f`` passes ``wrt`` through a linear solve (inv,
    det, logdet): only then is the rounding floor scaled by the condition
    number of a square ``wrt``, and an spd ``wrt`` stepped well inside its cone
    (both cost O(n³), more than an elementwise ``f``).  ``evaluations`` caps
    the calls of ``f`` (:mod:`.budget`); ``progress(done, total)`` hears of them.
    Where a comparison fails: ``exact`` (``f`` at 60 digits) measures ``f``'s own float
    error, which bounds what its differences resolve (``1 - Σ_j Y_j`` of a stochastic
    ``Y`` is rounding only); ``slopes(values, direction, steps)`` (differences at 60
    digits) judge the first few again, same tolerance, no rounding floor
    (``sin(exp(s))`` at s ~ 14 turns ten radians within any float step).  ``freeze(point)``, where
    given, is the ``f`` to difference about ``point`` (stop_gradient's values held there)."""
    rng = np.random.default_rng(seed)
    budget = Budget(evaluations, progress)
    f = budget.counted(f)
    run = _Run(f, df, out_rank, wrt, symbols, rng, directions, max_entries, inside,
               draw if values is None else None, budget, solve, exact, slopes, freeze=freeze,
               along=along, project=project)
    shape: tuple[int, ...] = ()
    finite, last = 0, None
    for _ in range(1 if values is not None else DRAWS):
        if values is None:
            base = draw(rng)
            if base is None:
                return _not_judged(wrt, shape, directions, "no random point inside the declared domain was "
                                   "found; check that the domain's constraints can hold together", "no point")
        else:
            base, scales = dict(values), (1.0,)
        shape, last = tuple(np.shape(base[wrt.name])), base
        x0 = np.asarray(base[wrt.name])
        by_entry = x0.size <= max_entries and not (set(wrt.props) & UNSCALED)
        budget.plan(len(scales), entry_count(wrt, x0) if by_entry else 0)
        if not _finite_at(f, df, base):
            continue                   # drawn again
        finite += 1
        check = _check_scales(run, base, scales, shape)
        if check is not None:
            return check
        if finite == POINTS or budget.left < SCALE_WORST:
            break
    if not finite:
        detail = explain(last) if explain is not None and last is not None else ""
        return _not_judged(wrt, shape, directions, "the value or the derivative is not finite at any random "
                           f"point tried{' (' + detail + ')' if detail else ''}; declare where the expression "
                           "is defined with a `domain:` entry such as `b - A @ x > 0`", "no point")
    return _not_judged(wrt, shape, directions, "finite differences cannot resolve the function at any random "
                       "point tried (it jumps, bends or is not finite within every step)", "unresolvable")


def _part(run: _Run, a) -> np.ndarray:
    """The part of ``f``'s output the check compares (all of it, or its projection)."""
    return np.asarray(a) if run.project is None else run.project(np.asarray(a))


def _not_judged(wrt, shape, directions, why: str, cause: str) -> Check:
    return Check(wrt.name, shape, float("nan"), float("nan"), directions, 0, NOT_JUDGED, (), why, cause)


def _finite_at(f: Fn, df: Fn, values: Values) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.all(np.isfinite(np.asarray(f(values), dtype=float)))
                        and np.all(np.isfinite(np.asarray(df(values), dtype=float))))
        except (ArithmeticError, np.linalg.LinAlgError):
            return False


@dataclass(frozen=True)
class _Run:
    """What stays fixed through one check: the functions, the symbol, the rng and the budget."""

    f: Fn
    df: Fn
    out_rank: int
    wrt: ir.Symbol
    symbols: Mapping[str, ir.Symbol]
    rng: np.random.Generator
    directions: int
    max_entries: int
    inside: Callable[[Values], bool] | None
    draw: Callable | None          # None: the inputs are fixed (no new point at an extra scale)
    budget: Budget
    solve: bool
    exact: Fn | None = None        # f at 60 digits (its float rounding, measured)
    slopes: Callable | None = None  # differences of f at 60 digits (tried EXACT_TRIES times: exact_tries)
    exact_tries: list = field(default_factory=lambda: [0])
    freeze: Callable | None = None  # point -> f about it, with stop_gradient's values held there
    along: Callable | None = None   # (values, v) -> the predicted change along v (df only sizes it)
    project: Callable | None = None  # the part of f's output compared (symmetric part, ...)


def _check_scales(run: _Run, base: Values, scales: tuple[float, ...], shape) -> Check | None:
    """The check at ``base`` and its scales, or None if the first scale cannot be judged there."""
    f, df, wrt, symbols, rng, draw, inside = run.f, run.df, run.wrt, run.symbols, run.rng, run.draw, run.inside
    errs_abs: list[float] = []
    errs_rel: list[float] = []
    ok: list[bool] = []
    entries = 0
    judged = []
    for scale in scales:
        vals = scaled(base, symbols, scale)
        if scale != scales[0] and run.budget.left < SCALE_WORST:
            continue               # the budget is spent: the extra scales it cannot pay for are not judged
        if scale != scales[0]:
            # a point where the value is finite (and inside the domain) at this scale: this one or a new one
            others = (scaled(p, symbols, scale) for p in (draw(rng) for _ in range(REDRAWS)) if p is not None) \
                if draw is not None else ()
            vals = next((v for v in (vals, *others) if _finite_at(f, df, v) and (inside is None or inside(v))),
                        None)
            if vals is None:
                continue
        with np.errstate(all="ignore"):
            outcome = _check_at(run, vals, strict=scale == scales[0],
                                scales_left=len(scales) - scales.index(scale))
        if outcome is None or not outcome[2]:   # out of float range, or unresolvable, at this scale
            if scale == scales[0]:
                return None
            continue
        judged.append(scale)
        a, r, k, n = outcome
        if not errs_abs:               # the headline figures are those at the first scale
            errs_abs, errs_rel = a, r
        ok += k
        entries = max(entries, n)
    passed = bool(ok) and all(ok)
    return Check(wrt.name, shape, max(errs_abs, default=0.0), max(errs_rel, default=0.0), run.directions,
                 entries, PASSED if passed else FAILED, tuple(judged),
                 "" if passed else "the derivative disagrees with finite differences of the value",
                 "" if passed else "differences")


REDRAWS, EXACT_TRIES = 2, 8   # new points tried at an extra scale; failed comparisons judged at 60 digits


def _check_at(run: _Run, values: Values, strict: bool = True, scales_left: int = 1):
    """The comparisons at one point, or None when the value or the derivative is not finite.

    A failed comparison whose differences never settle (the two central
    differences inside the stencil disagree by more than 10% at every step:
    ``cos(exp(X))`` at X = 500 oscillates far below any step; ``step(x)`` jumps
    within the step), or that sits on a kink no step resolves (:func:`.noise.kink`),
    is left out rather than failed: finite differences cannot judge it there.
    ``strict`` (the first scale) keeps the tight noise model and never skips
    the whole scale.  The entries compared are those the budget allows this
    scale (``scales_left`` share what is left), a random subset where not all fit."""
    f_of, df, wrt, rng = run.f, run.df, run.wrt, run.rng
    f_of = f_of if run.freeze is None else run.budget.counted(run.freeze(values))
    x0 = values[wrt.name]
    d = np.asarray(df(values), dtype=float)

    def f(x):
        vals = dict(values)
        vals[wrt.name] = x
        return np.asarray(f_of(vals), dtype=float)

    f0 = np.asarray(f(x0), dtype=float)
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(f0))):
        return None
    size = float(np.max(np.abs(x0))) if x0.size else 1.0
    # small inputs take a small step; large ones no more than 1e-3, since a function
    # such as sin(X) varies on a scale of 1 however large X is
    h = STEP * (min(size, 1.0) if size > 0 else 1.0)
    if "spd" in wrt.props and run.solve:   # stay inside the cone: h well below the smallest eigenvalue
        h = min(h, 1e-2 * float(np.min(np.linalg.eigvalsh(x0))))

    def predicted(v):
        return run.along(values, v) if run.along is not None else predict(d, v, f0.shape)

    errs_abs, errs_rel, ok = [], [], []
    d_norm = float(np.linalg.norm(d))
    # rounding noise of the differences: eps |f| / h, times the condition number when
    # f goes through a solve with an ill-conditioned square input (inv, det, logdet)
    square = x0.ndim == 2 and x0.shape[0] == x0.shape[1]
    cond = float(np.linalg.cond(x0)) if square and run.solve else 1.0
    noise = (100 + (cond if np.isfinite(cond) else 1e16)) * EPS \
        * max(1.0, float(np.max(np.abs(f0))) if f0.size else 1.0) / h
    # ... or as measured: cos(M @ N) with entries of 1e6 has rounding noise of
    # eps 1e6 in its argument, whatever |f| is
    v_noise = direction(wrt, x0, rng)
    v_noise = v_noise / max(float(np.linalg.norm(v_noise)), 1e-300)
    scatter = scatter_of(f, x0, v_noise, h)
    if not np.isfinite(scatter):
        return None        # f is not finite arbitrarily close to x0: no derivative to judge here
    size_f = max(1.0, float(np.max(np.abs(f0))) if f0.size else 1.0)
    if not strict and (scatter > 1e-8 * size_f
                       or unresolvable(f, x0, v_noise, h, size_f, float(np.max(np.abs(predicted(v_noise)))))):
        return None
    # (nine points see the typical noise; the extremes over dozens of differences are larger,
    # and at the extra scales, where the noise is what is left of a huge argument, more so)
    noise = max(noise, (4 if strict else 16) * scatter / h)
    rounding: list[float] = []     # f's own rounding error at x0 / h, measured once when needed

    def measured_noise() -> float:
        if not rounding:
            try:
                lost = float(np.max(np.abs(f0 - np.asarray(run.exact(values), dtype=float)))) if f0.size else 0.0
            except (ArithmeticError, ValueError, TypeError):
                lost = 0.0
            rounding.append(4 * lost / h if np.isfinite(lost) else 0.0)
        return rounding[0]

    def compare(v):
        # at most unit size (Frobenius, which bounds the spectral norm: x0 ± 2hv stays in an spd cone)
        v = v / max(1.0, float(np.linalg.norm(v)))
        pr = pr0 = predicted(v)
        best = None
        clean = False     # some step where f is straight and its differences settle
        bends: dict[float, float] = {}   # second difference / step, by step (for kink)
        # a steep function needs a smaller step: try h, h/10, h/100 and keep the best; at the
        # extra scales also 10h, for a function whose change over h is near its rounding
        # noise (exp(1 / (s v)) at v ~ 500 keeps its change in the last digits of 1 + 2e-6)
        for step in (h, h / 10, h / 100) if strict else (h, h / 10, h / 100, 10 * h):
            p1, m1, p2, m2 = (f(x0 + step * v), f(x0 - step * v), f(x0 + 2 * step * v), f(x0 - 2 * step * v))
            plus, minus = p1 - m1, p2 - m2
            fd = (8 * plus - minus) / (12 * step)
            fd, pr = _part(run, fd), _part(run, pr0)
            err = float(np.max(np.abs(fd - pr))) if np.size(fd) else 0.0
            # how far the two central differences inside the stencil disagree: the
            # noise of evaluating f here (large for ill-conditioned inputs)
            spread = float(np.max(np.abs(plus / (2 * step) - minus / (4 * step)))) if np.size(fd) else 0.0
            # relative to the size of this comparison, but never to less than 0.1% of the
            # derivative's own size (an entry of 1e-10 is not checked to 1e-6 of itself)
            size = max(float(np.max(np.abs(fd))) if np.size(fd) else 0.0,
                       float(np.max(np.abs(pr))) if np.size(pr) else 0.0,
                       1e-3 * d_norm * float(np.linalg.norm(v)))
            floor = noise * (h / step) * float(np.linalg.norm(v)) + 1e-2 * spread
            passed = bool(np.isfinite(err)) and err <= REL_TOL * size + floor
            if np.size(fd):
                settled = np.isfinite(spread) and spread <= 0.1 * float(np.max(np.abs(plus / (2 * step))))
                # straight: the second difference is small next to the first (a jump of
                # step(x) inside the step makes them equal)
                bend = float(np.max(np.abs(p1 + m1 - 2 * f0)))
                bends[step] = bend / step
                straight = bend <= 0.1 * float(np.max(np.abs(plus))) + 4 * noise * step
                clean = clean or bool(settled and straight)
            else:
                clean = True
            if best is None or passed or (np.isfinite(err) and err < best[0]):
                best = (err, size, passed, floor)
            if passed:
                break
        err, size, passed, floor = best
        if not passed and run.exact is not None and measured_noise() > noise:
            # f's float value is off its exact value by more than the noise model allows:
            # its differences resolve nothing finer than that (whatever the direction's size:
            # the difference quotient divides f's error by the step, not by the step times |v|)
            floor = max(floor, measured_noise())
            passed = bool(np.isfinite(err)) and err <= REL_TOL * size + floor
        if not passed and run.slopes is not None and run.exact_tries[0] < EXACT_TRIES:
            run.exact_tries[0] += 1
            with np.errstate(all="ignore"):
                exact_err = min(float(np.max(np.abs(_part(run, fd) - pr))) if np.size(fd) else 0.0
                                for fd in run.slopes(values, v, (h * 1e-5, h * 1e-8)))
            err, passed = (exact_err, True) if np.isfinite(exact_err) and exact_err <= REL_TOL * size else (err, False)

        if not passed and (not clean or kink(bends, h, noise)):
            return            # f jumps, oscillates or bends within every step here: no judgement
        errs_abs.append(err)
        # relative to the size, or to the smallest size rounding lets the check resolve (a
        # gradient of 0 is checked to the noise floor, and its error is not "100%")
        resolvable = max(size, floor / REL_TOL)
        errs_rel.append(err / resolvable if resolvable > 0 else err)
        ok.append(passed)

    for _ in range(run.directions):
        compare(direction(wrt, x0, rng))
    entries = 0
    if x0.size <= run.max_entries and not (set(wrt.props) & UNSCALED):
        total = entry_count(wrt, x0)
        fit = run.budget.entries(total, scales_left)
        keep = None if fit >= total else set(rng.choice(total, size=fit, replace=False).tolist())
        for k, v in enumerate(entry_directions(wrt, x0)):
            if keep is not None and k not in keep:
                continue
            if run.budget.left < WORST_COMPARISON:
                break
            compare(v)
            entries += 1
    return errs_abs, errs_rel, ok, entries
