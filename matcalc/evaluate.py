"""Evaluate IR with numpy: the reference semantics of the language.

Used by the verifier and the tests.  Dimension sizes come from ``dims``;
``ones``/``eye`` get numbers by looking their dimension names up there.
The inverse of a singular matrix is NaN (as ``1 / 0`` is inf), not an error.

``precise=True`` computes with mpmath numbers at 60 digits instead (each
record's ``mp``, see :mod:`matcalc.ops.mp`), from the same float inputs: the
exact value of a form, which the stability probe holds emitted code to.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import mpmath
import numpy as np

from . import ir
from .ops import OPS, mp
from .shapes import dim_size, known_sizes


def evaluate(expr: ir.Expr, values: Mapping[str, np.ndarray], dims: Mapping[str, int], *,
             precise: bool = False, digits: int = mp.DPS):
    """The value of ``expr`` at ``values`` (arrays by symbol name); with
    ``precise``, at ``digits`` significant digits, rounded to float64 at the end."""
    if precise:
        with mp.precision(digits):
            return mp.to_float(_evaluate(expr, values, dims, True))
    return _evaluate(expr, values, dims, False)


def evaluate_many(exprs: list[ir.Expr], values: Mapping[str, np.ndarray], dims: Mapping[str, int], *,
                  precise: bool = False, digits: int = mp.DPS) -> list:
    """The values of ``exprs`` (as :func:`evaluate` gives each), a subexpression they
    share computed once: the L gradients of an L-layer chain share its forward pass."""
    memo: dict[ir.Expr, np.ndarray] = {}
    with known_sizes(dims):
        if precise:
            with mp.precision(digits):
                return [mp.to_float(_evaluate_in(e, values, dims, True, memo)) for e in exprs]
        return [_evaluate_in(e, values, dims, False, memo) for e in exprs]


def _evaluate(expr, values, dims, precise: bool):
    with known_sizes(dims):      # reshape(A, (p, q)) and X[1:n] read the sizes of their names
        return _evaluate_in(expr, values, dims, precise)


def _unknown(root: ir.Expr, memo) -> list[ir.Expr]:
    """The distinct nodes under ``root`` not in ``memo``, children first."""
    order: list[ir.Expr] = []
    seen: set[int] = set()
    stack: list[tuple[ir.Expr, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen and node not in memo:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children()))
    return order


def _evaluate_in(expr, values, dims, precise: bool, memo: dict | None = None):
    memo = {} if memo is None else memo
    for node in _unknown(expr, memo):
        if node in memo:       # (an equal copy came first)
            continue
        if isinstance(node, ir.Symbol):
            given = np.asarray(values[node.name])
            if precise and given.dtype == object:      # already exact (mpf): kept so
                memo[node] = given
            else:
                memo[node] = np.asarray(given, dtype=float)
                if precise:
                    memo[node] = mp.as_mp(memo[node])
        elif isinstance(node, ir.Number):
            memo[node] = np.asarray(float(node.value))
            if precise:
                v = node.value
                memo[node] = np.asarray(mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction)
                                        else mpmath.mpf(v), dtype=object)
        elif isinstance(node, ir.Dim):
            memo[node] = np.asarray(float(dims[node.name]))
            if precise:
                memo[node] = mp.as_mp(memo[node])
        elif precise and OPS[node.op].mp is not None:
            memo[node] = np.asarray(OPS[node.op].mp(*[memo[a] for a in node.args],
                                                    **{k: v for k, v in node.attrs if k != "dims"}), dtype=object)
        else:
            op = OPS[node.op]
            args = [memo[a] for a in node.args]
            attrs = dict(node.attrs)
            if op.dim_args:
                sizes = tuple(dim_size(d, dims) for d in attrs.pop("dims"))
                memo[node] = op.fn(sizes)
            else:
                attrs = {k: v for k, v in attrs.items() if v is not None or k == "axis"}
                try:
                    memo[node] = np.asarray(op.fn(*args, **attrs))
                except np.linalg.LinAlgError:   # inv or solve of a singular matrix: like 1/0,
                    memo[node] = np.full(tuple(dim_size(d, dims) for d in node.shape), np.nan)
    return memo[expr]


def exact_slopes(expr: ir.Expr, values: Mapping[str, np.ndarray], dims: Mapping[str, int], name: str,
                 direction: np.ndarray, steps: tuple[float, ...], digits: int = mp.DPS) -> list[np.ndarray]:
    """Five-point central differences of ``expr`` along ``direction`` in the symbol
    ``name``, computed at ``digits`` digits from the float inputs (the displaced
    inputs, the values and their differences all exact to those digits: no float64
    rounding anywhere), one per step, rounded to float64 at the end."""
    out = []
    with mp.precision(digits):
        base = {k: mp.as_mp(np.asarray(v, dtype=float)) for k, v in values.items()}
        x0, v = base[name], mp.as_mp(np.asarray(direction, dtype=float))
        for step in steps:
            t = mpmath.mpf(step)

            def at(c, t=t):
                vals = dict(base)
                vals[name] = x0 + (c * t) * v
                return np.asarray(_evaluate(expr, vals, dims, True), dtype=object)
            out.append(mp.to_float((8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * t)))
    return out


def first_nonfinite(expr: ir.Expr, values: Mapping[str, np.ndarray], dims: Mapping[str, int]) -> ir.Expr | None:
    """The first node of ``expr`` (children before parents) whose value is not
    finite while its arguments' are: ``log(b - A @ x)`` where ``b - A @ x < 0``."""

    with np.errstate(all="ignore"):
        for node in ir.topological(expr):
            if isinstance(node, ir.Apply) and all(np.all(np.isfinite(evaluate(a, values, dims))) for a in node.args):
                if not np.all(np.isfinite(evaluate(node, values, dims))):
                    return node
    return None


def zero_over_zero(expr: ir.Expr, values: Mapping[str, np.ndarray], dims: Mapping[str, int],
                   seed: int = 0) -> bool:
    """Whether ``expr`` is 0/0 at ``values``: at 60 digits, nudging every input by a
    relative 1e-40 changes its value by more than 1e-9 (a regular formula moves by about
    1e-40).  A spread of equal entries dividing their differences -- ``std`` of a
    constant vector -- is such a point: its derivative does not exist there."""
    rng = np.random.default_rng(seed)
    with mp.precision(mp.DPS):
        base = mp.to_float(_evaluate(expr, values, dims, True))
        nudged = {k: mp.as_mp(np.asarray(v, dtype=float)) * (1 + mpmath.mpf("1e-40") * mp.as_mp(
            rng.normal(size=np.shape(v)))) for k, v in values.items()}
        moved = mp.to_float(_evaluate(expr, nudged, dims, True))
    base, moved = np.asarray(base, dtype=float), np.asarray(moved, dtype=float)
    if not (np.all(np.isfinite(base)) and np.all(np.isfinite(moved))):
        return True
    return bool(np.max(np.abs(moved - base), initial=0.0) > 1e-9 * max(np.max(np.abs(base), initial=0.0), 1e-300))
