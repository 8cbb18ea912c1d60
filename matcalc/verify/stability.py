"""The stability probe: emitted float64 code against the exact value of the
same derivative, at inputs where a badly chosen form loses its digits.

Finite differences at scales 1, 1e-3 and 1e3 cannot see that
``1 - w²/(ε + w²)`` computes ``ε/(ε + w²)`` with no correct digit at
``|w| = 1e3, ε = 1e-8``: the check's own differences of that form are just as
wrong.  The probe evaluates an emitted function at such inputs — every free
symbol, and random subsets of them, scaled to 1e±4 and 1e±8; and points near
cancellation, where a symbol added to or subtracted from another term is set
to minus (or plus) that term's value, give or take 1 (``X @ w - y`` with ``y``
close to ``X @ w ~ 1e8``) — and compares it with the derivative's exact value
(:func:`matcalc.evaluate.evaluate` with ``precise=True``: 60 digits from the
same float inputs).

How many digits the inputs themselves allow is measured too: the exact value
at inputs moved by a few units in the last place.  A result fails when the
emitted function is more than 1e-6 off (relative to the result's largest
entry: the finite-difference check's own tolerance) and more than 100 times
what moving the inputs does.  Points where the value itself is not finite are
left out, and so are those where the exact derivative is 0 to 40 digits (a sum
that cancels for every input, such as ``1 - sum(softmax(x))``: float64 can
only give its rounding there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .. import ir
from ..evaluate import evaluate
from ..ops import mp
from .sample import UNSCALED, draw_within, margin

TOLERANCE = 1e-6      # relative error allowed (the finite-difference check's own) ...
HEADROOM = 100.0      # ... and how far beyond that rounding spread
PROBE_SIZE = 4        # dimensions are cut to this size (the module reads them off the arrays)
MAGNITUDES = (1e4, 1e8, 1e-4)
COARSE_DIGITS = 40    # an exact value that 40 digits do not already give is 0 to working precision


@dataclass(frozen=True)
class Probe:
    """The worst point the probe found for one function."""

    function: str
    points: int                 # points where both the emitted and the exact value are finite
    worst: float = 0.0          # largest relative error seen
    allowed: float = TOLERANCE  # what the inputs' own rounding allowed there
    where: str = ""             # how that point was made ("w, y x1e8")

    @property
    def passed(self) -> bool:
        return self.worst <= self.allowed

    def sentence(self) -> str:
        return (f"{self.function} loses digits that the exact derivative keeps: relative error {self.worst:.1e} "
                f"at inputs with {self.where} (the inputs' own rounding allows {self.allowed:.0e})")


def probe_dims(symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int]) -> dict[str, int]:
    """Dimension sizes for the probe: those the arrays carry cut to :data:`PROBE_SIZE`
    (the exact evaluation is slow), the others (used only inside the expression) kept."""
    carried = {d for sym in symbols.values() for d in sym.shape if isinstance(d, str)}
    return {d: (min(n, PROBE_SIZE) if d in carried else n) for d, n in dims.items()}


def points(expr: ir.Expr, exprs: Sequence[ir.Expr], constraints: Sequence[ir.Expr],
           symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int], rng: np.random.Generator):
    """(description, values) of the probe's points (see the module docstring)."""
    base = draw_within(constraints, exprs, symbols, dims, rng)
    if base is None:
        return
    free = [s for s, sym in symbols.items() if not (UNSCALED & set(sym.props))]
    if not free:
        return
    pins = _pins(expr, symbols)

    def scaled(names, factor):
        return {k: (v * factor if k in names else v) for k, v in base.items()}

    made = []
    for factor in MAGNITUDES:
        made.append((f"{', '.join(free)} {_times(factor)}", scaled(free, factor)))
    for _ in range(3):
        some = [s for s in free if rng.random() < 0.5] or [free[0]]
        factor = float(rng.choice([1e4, 1e8]))
        made.append((f"{', '.join(some)} {_times(factor)}", scaled(some, factor)))
    for sym, other, sign in pins:
        for factor in (1e4, 1e8):
            vals = scaled([s for s in free if s != sym.name], factor)
            with np.errstate(all="ignore"):
                target = sign * np.asarray(evaluate(other, vals, dims), dtype=float)
            if target.shape != np.shape(vals[sym.name]) or not np.all(np.isfinite(target)):
                continue
            vals[sym.name] = target + rng.normal(size=target.shape)
            made.append((f"the others {_times(factor)} and {sym.name} within 1 of the term it is added to", vals))
    for where, vals in made:
        if not constraints or margin(constraints, vals, dims) > 0:
            yield where, vals


def _times(factor: float) -> str:
    """``x1e8`` for 1e8, ``x1e-4`` for 1e-4."""
    return f"x1e{round(np.log10(factor))}"


def _pins(expr: ir.Expr, symbols) -> list[tuple[ir.Symbol, ir.Expr, float]]:
    """(S, T, sign) for each ``T ± S`` / ``S ± T`` in ``expr`` with ``S`` a symbol free
    of props and of the sum's shape: the sum is 0 when ``S = sign * T``."""
    out = []
    seen = set()
    for node in ir.distinct(expr):
        if not (isinstance(node, ir.Apply) and node.op in ("add", "sub")):
            continue
        a, b = node.args
        for s, other, sign in ((b, a, 1.0 if node.op == "sub" else -1.0), (a, b, -1.0)):
            if (isinstance(s, ir.Symbol) and s.shape == node.shape and not (set(s.props) - {"constant"})
                    and (s.name, other) not in seen):
                seen.add((s.name, other))
                out.append((s, other, sign))
    return out[:4]


def probe(function: str, fn: Callable[..., np.ndarray], exact: ir.Expr | Callable[..., np.ndarray],
          candidates: list[tuple[str, Mapping[str, np.ndarray]]], dims: Mapping[str, int],
          symbols: Mapping[str, ir.Symbol], rng: np.random.Generator) -> Probe:
    """Run ``fn`` (an emitted function) at each candidate point and compare it with
    ``exact`` (the IR of what it computes) evaluated at 60 digits (or a function
    ``exact(values, digits=...)`` that evaluates it so: several results packed)."""
    if isinstance(exact, ir.Expr):
        expr = exact

        def exact(values, digits=mp.DPS):
            return evaluate(expr, values, dims, precise=True, digits=digits)
    worst = Probe(function, 0)
    judged = 0
    for where, vals in candidates:
        with np.errstate(all="ignore"):
            want = exact(vals)
            if want.size == 0 or not np.all(np.isfinite(want)):
                continue
            size = float(np.max(np.abs(want)))
            if not 1e-280 < size < 1e300:
                continue       # past float64's normal range (subnormals keep fewer digits), or 0
            try:
                got = np.asarray(fn(**vals), dtype=float)
            except (ArithmeticError, ValueError, np.linalg.LinAlgError):
                got = np.full(want.shape, np.nan)    # a singular solve where the exact value is finite
        good = got.shape == want.shape and bool(np.all(np.isfinite(got)))
        err = float(np.max(np.abs(got - want))) / size if good else np.inf
        if err <= TOLERANCE:
            judged += 1
            continue
        with np.errstate(all="ignore"):
            coarse = exact(vals, digits=COARSE_DIGITS)
        if not np.all(np.abs(coarse - want) <= 1e-6 * size):
            continue   # 0 to 40 digits (a derivative that is 0 for every input, written as a sum that
            # cancels: 1 - sum(softmax(x))): what float64 makes of it is rounding, and its size unknown
        judged += 1
        # what the inputs' rounding moves the exact value by: a few ulps on every entry
        # that float64 had to round (a stochastic or orthogonal matrix is stored rounded:
        # 1 - Σ_j Y_ij is rounding, not 0 (campaign seed 20261207); a one-hot one is exact)
        moved = {k: (v * (1 + 4e-16 * rng.standard_normal(np.shape(v))) if "onehot" not in symbols[k].props
                     else v) for k, v in vals.items()}
        with np.errstate(all="ignore"):
            spread = float(np.max(np.abs(exact(moved) - want))) / size
        allowed = max(TOLERANCE, HEADROOM * spread) if np.isfinite(spread) else np.inf
        if err / allowed > worst.worst / worst.allowed:
            worst = Probe(function, 0, err, allowed, where)
    return Probe(function, judged, worst.worst, worst.allowed, worst.where)
