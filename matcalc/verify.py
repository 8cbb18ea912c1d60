"""Numerical verification: random inputs that respect the declared props,
central finite differences, and an error report.

The check is by random projection, as HIPS/autograd's checker does: for a
direction ``V`` in the symbol's prop space (symmetric ``V`` for a symmetric
symbol, rows summing to 0 for a stochastic one), compare ``<G, V>`` with the
central difference of ``f`` along ``V``.  Small symbols are also checked
entry by entry (symmetric pairs for symmetric symbols).

Step and tolerances: the difference is the five-point stencil
``(8(f(X+hV) - f(X-hV)) - (f(X+2hV) - f(X-2hV))) / 12h`` with
``h = 1e-3 * max(1, max|X|)``; its truncation error is O(h^4) (about 1e-12
relative) and its rounding error about ``eps |f| / h`` (about 1e-13 |f|).
A comparison passes when its error is at most ``1e-6`` times its size (the
larger of the two sides, and at least 0.1% of ``|G| |V|``) plus that rounding
floor.  A gradient 0.1% off is 1000 times over the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import ir
from .evaluate import evaluate
from .ops import OPS
from .shapes import dim_size

REL_TOL = 1e-6
STEP = 1e-3
EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Check:
    """The outcome of verifying one derivative."""

    symbol: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    directions: int
    entries: int
    passed: bool


def domains(expr: ir.Expr) -> dict[str, set[str]]:
    """Which symbols must be drawn positive / spd / well-conditioned so that
    every operation is defined at the random point (``log(X)`` needs X > 0)."""
    need: dict[str, set[str]] = {}
    for node in ir.walk(expr):
        if not isinstance(node, ir.Apply):
            continue
        domain = OPS[node.op].domain
        for arg, dom in zip(node.args, domain(node) if callable(domain) else domain):
            if dom is None:
                continue
            for sym in arg.symbols:
                if dom in ("spd", "invertible") and arg != sym:
                    continue
                need.setdefault(sym.name, set()).add("positive" if dom == "nonzero" else dom)
    return need


def sample(sym: ir.Symbol, dims: Mapping[str, int], rng: np.random.Generator,
           need: set[str] = frozenset()) -> np.ndarray:
    """A random value of ``sym`` with its props (and what its context needs)."""
    shape = tuple(dim_size(d, dims) for d in sym.shape)
    props = set(sym.props) | set(need)
    if "onehot" in props:
        return _rowwise(shape, lambda k: np.eye(k)[rng.integers(k)])
    if "stochastic" in props:
        return _rowwise(shape, lambda k: (lambda e: e / e.sum())(np.exp(rng.normal(size=k))))
    if "orthogonal" in props and "diagonal" in props:
        return np.diag(rng.choice([-1.0, 1.0], size=shape[0]))
    if "orthogonal" in props:
        q, r = np.linalg.qr(rng.normal(size=shape))
        q = q * np.sign(np.diag(r))
        if "symmetric" in props:      # symmetric and orthogonal: Q D Qᵀ with D = diag(±1)
            return (q * rng.choice([-1.0, 1.0], size=shape[0])) @ q.T
        return q
    if "diagonal" in props:
        d = rng.uniform(0.5, 2.0, size=shape[0]) * (1 if {"spd", "positive"} & props
                                                   else rng.choice([-1, 1], size=shape[0]))
        return np.diag(d)
    if "spd" in props:
        a = rng.normal(size=shape)
        return a @ a.T / shape[0] + np.eye(shape[0])
    if "positive" in props:
        x = rng.uniform(0.5, 2.0, size=shape)
        return (x + x.T) / 2 if "symmetric" in props else x
    x = rng.normal(size=shape)
    if "invertible" in props:
        x = x / np.sqrt(shape[0]) + 2.0 * np.eye(shape[0])
    if "symmetric" in props:
        x = (x + x.T) / 2
    return x


def _rowwise(shape, row):
    if len(shape) == 1:
        return row(shape[0]).astype(float)
    return np.stack([row(shape[1]) for _ in range(shape[0])]).astype(float)


def direction(sym: ir.Symbol, value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random perturbation that stays in the symbol's prop space."""
    v = rng.normal(size=value.shape)
    props = sym.props
    if "diagonal" in props:
        return np.diag(np.diag(v))
    if "orthogonal" in props:
        k = (v - v.T) / 2
        if "symmetric" in props:      # Q K - K Q: tangent to both manifolds when Q = Qᵀ
            return value @ k - k @ value
        return value @ k
    if "symmetric" in props:
        return (v + v.T) / 2
    if {"onehot", "stochastic"} & props:
        return v - v.mean(axis=-1, keepdims=True)
    return v


def _scalar(e: ir.Expr) -> ir.Expr:
    return e if e.rank == 0 else ir.apply("sum", [e])


def _entry_directions(sym: ir.Symbol, x0: np.ndarray):
    """Unit perturbations of one entry each, or of a symmetric pair (E_ij + E_ji)
    for a symmetric symbol, or of one diagonal entry for a diagonal one."""
    if "diagonal" in sym.props:
        for i in range(x0.shape[0]):
            v = np.zeros_like(x0)
            v[i, i] = 1.0
            yield v
        return
    if "symmetric" in sym.props:
        for i in range(x0.shape[0]):
            for j in range(i, x0.shape[1]):
                v = np.zeros_like(x0)
                v[i, j] = v[j, i] = 1.0
                yield v
        return
    for idx in np.ndindex(*x0.shape):
        v = np.zeros_like(x0)
        v[idx] = 1.0
        yield v


def draw_inputs(expr: ir.Expr, symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int],
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    need = domains(expr)
    return {name: sample(sym, dims, rng, need.get(name, set())) for name, sym in symbols.items()}


def check_derivative(expr: ir.Expr, wrt: ir.Symbol, derivative: ir.Expr, symbols, dims,
                     *, seed: int = 0, directions: int = 4, max_entries: int = 400) -> Check:
    """Compare ``derivative`` (gradient, Jacobian or the gradient of a Hessian
    check) with central differences of ``expr`` at random prop-respecting inputs.

    ``derivative`` has shape ``expr.shape + wrt.shape`` collapsed as matcalc
    states results: the gradient of a scalar has the shape of ``wrt``; the
    Jacobian of a vector w.r.t. a vector is ``[out, in]``.
    """
    rng = np.random.default_rng(seed)
    # the derivative's own domain counts too: d/da sum(X ** a) = sum(X ** a * log(X)) needs X > 0
    values = draw_inputs(ir.apply("add", [_scalar(expr), _scalar(derivative)]), symbols, dims, rng)
    x0 = values[wrt.name]
    d = np.asarray(evaluate(derivative, values, dims), dtype=float)
    out_rank = expr.rank

    def f(x):
        vals = dict(values)
        vals[wrt.name] = x
        return np.asarray(evaluate(expr, vals, dims), dtype=float)

    scale = max(1.0, float(np.max(np.abs(x0)))) if x0.size else 1.0
    h = STEP * scale

    def predicted(v):
        if out_rank == 0:
            return np.sum(np.broadcast_to(d, x0.shape) * v)
        if x0.ndim == 0:
            return d * v
        return d @ v   # Jacobian [out, in] times direction [in]

    errs_abs, errs_rel, ok = [], [], []
    d_norm = float(np.linalg.norm(d)) if np.all(np.isfinite(d)) else 0.0
    f0 = np.asarray(f(x0), dtype=float)
    noise = 100 * EPS * max(1.0, float(np.max(np.abs(f0))) if f0.size else 1.0) / h

    def compare(v):
        fd = (8 * (f(x0 + h * v) - f(x0 - h * v)) - (f(x0 + 2 * h * v) - f(x0 - 2 * h * v))) / (12 * h)
        pr = predicted(v)
        err = np.max(np.abs(fd - pr)) if np.size(fd) else 0.0
        # relative to the size of this comparison, but never to less than 0.1% of the
        # derivative's own size (an entry of 1e-10 is not checked to 1e-6 of itself)
        size = max(np.max(np.abs(fd)) if np.size(fd) else 0.0, np.max(np.abs(pr)) if np.size(pr) else 0.0,
                   1e-3 * d_norm * float(np.linalg.norm(v)))
        errs_abs.append(float(err))
        errs_rel.append(float(err / size) if size > 0 else float(err))
        ok.append(bool(err <= REL_TOL * size + noise * float(np.linalg.norm(v))))

    for _ in range(directions):
        compare(direction(wrt, x0, rng))
    entries = 0
    if x0.size <= max_entries and not (set(wrt.props) & {"orthogonal", "onehot", "stochastic"}):
        for v in _entry_directions(wrt, x0):
            compare(v)
            entries += 1
    max_abs = max(errs_abs) if errs_abs else 0.0
    max_rel = max(errs_rel) if errs_rel else 0.0
    finite = np.all(np.isfinite(d))
    passed = bool(finite and all(ok))
    return Check(wrt.name, tuple(x0.shape), max_abs, max_rel, directions, entries, passed)
