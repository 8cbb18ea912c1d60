"""Which of several equal forms float64 computes well.

Simplification offers equal forms of an elementwise subtree (:data:`FORMS`):
the chain rule's own, the expanded-and-factored one, the one over a common
denominator.  They are equal as functions but not in float64:
``1 - w²/(ε + w²)`` has no correct digit where ``ε/(ε + w²)`` has all of them
(``|w| = 1e3, ε = 1e-8``), and expanding ``(t - y)²`` into
``t² - 2 t y + y²`` loses everything where ``t ≈ y ≈ 1e8``.

:func:`instability` measures a form: it is evaluated in float64 and at 60
digits (each operation's ``fn`` and ``mp``) at points spread over magnitudes
1e-8 to 1e8, and at points where the real leaves cluster around a common
value (where a difference of them cancels), and the largest relative error
is its score.  :func:`choose` keeps the forms within 100 times the best score
(or all under 1e-10) and takes the shortest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np
import sympy

from ..ops import OPS, mp

POINTS = 16
FLOOR = 1e-10        # below this every form is good enough: the shortest wins
SPREAD = 100.0       # a form within this factor of the best form's error is as good


@dataclass(frozen=True)
class Form:
    """One way to write an elementwise subtree: a name, the identity it applies, how."""

    name: str
    identity: str
    make: Callable[[sympy.Expr], sympy.Expr | None]


def choose(candidates: list[tuple[Form, sympy.Expr]], size: Callable[[sympy.Expr], int],
           op_of: Callable[[sympy.Expr], str]) -> sympy.Expr:
    """The shortest of the candidates that float64 computes (nearly) as well as the
    best; ``op_of`` names the operation of a sympy function application."""
    distinct = list({e: f for f, e in candidates}.items())
    if len(distinct) == 1:
        return distinct[0][0]
    scores = {e: instability(e, op_of) for e, _ in distinct}
    best = min(scores.values())
    good = [e for e, _ in distinct if scores[e] <= max(SPREAD * best, FLOOR)]
    return min(good, key=lambda e: (size(e), sympy.default_sort_key(e)))


@lru_cache(maxsize=4096)
def instability(e: sympy.Expr, op_of: Callable[[sympy.Expr], str]) -> float:
    """The largest relative error of evaluating ``e`` in float64, over the probe points
    (0 where no point has a finite, nonzero exact value)."""
    leaves = sorted(e.free_symbols, key=sympy.default_sort_key)
    values = _points(tuple((s.name, bool(s.is_positive)) for s in leaves))
    env = {s: values[s.name] for s in leaves}
    with np.errstate(all="ignore"):
        try:
            fast = np.broadcast_to(np.asarray(_evaluate(e, env, op_of, False), dtype=float), (POINTS,))
            with mp.precision():
                exact = mp.to_float(np.broadcast_to(_evaluate(e, {s: mp.as_mp(v) for s, v in env.items()},
                                                              op_of, True), (POINTS,)))
        except (ArithmeticError, ValueError, TypeError, KeyError):
            return 0.0           # a form the probe cannot evaluate: no evidence against it
        usable = np.isfinite(exact) & (exact != 0) & (np.abs(exact) < 1e300)
        if not usable.any():
            return 0.0
        err = np.where(np.isfinite(fast), np.abs(fast - exact) / np.abs(exact), 1.0)
    return float(np.max(np.minimum(err[usable], 1.0)))


@lru_cache(maxsize=256)
def _points(leaves: tuple[tuple[str, bool], ...]) -> dict[str, np.ndarray]:
    """Values of the leaves at the probe points (a fixed seed: the same choice every run).
    Half the points spread every leaf over 1e-8..1e8 (either sign unless positive); in
    the other half the real leaves cluster within about 1 of a common value up to 1e8."""
    rng = np.random.default_rng(len(leaves))
    half = POINTS // 2
    centre = rng.choice([-1.0, 1.0], half) * 10.0 ** rng.choice([0.0, 4.0, 8.0], half)
    out = {}
    for name, positive in leaves:
        spread = 10.0 ** rng.uniform(-8, 8, half)
        if positive:
            clustered = 10.0 ** rng.uniform(-8, 8, half)
        else:
            spread = spread * rng.choice([-1.0, 1.0], half)
            clustered = centre + rng.normal(size=half)
        out[name] = np.concatenate([spread, clustered])
    return out


def _evaluate(e: sympy.Expr, env, op_of, precise: bool, memo: dict | None = None):
    """``e`` at the points: float64 arrays, or object arrays of mpf (``precise``).
    A subexpression that occurs many times (a tower of powers, nested exps) is
    evaluated once: ``memo`` maps each one to its value."""
    memo = {} if memo is None else memo
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        return env[e]
    if e.is_Number:
        if not precise:
            return float(e)
        value = mpmath.mpf(int(e.p)) / int(e.q) if e.is_Rational else mpmath.mpf(float(e))
        return np.asarray(value, dtype=object)
    if e is sympy.E:
        return _apply(op_of(sympy.exp(1)), [_evaluate(sympy.Integer(1), env, op_of, precise, memo)], precise)
    args = [_evaluate(a, env, op_of, precise, memo) for a in e.args]
    if e.is_Add or e.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out + a if e.is_Add else out * a
    else:
        out = _apply(op_of(e), args, precise)
    memo[e] = out
    return out


def _apply(name: str, args, precise: bool):
    op = OPS[name]
    if precise:
        return (op.mp or op.fn)(*(mp.as_mp(a) for a in args))
    return op.fn(*args)
