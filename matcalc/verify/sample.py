"""Random inputs that respect the declared props, what the operations need
(``log(X)`` needs ``X > 0``), and the declared ``domain:`` constraints; and
perturbation directions that stay in the props' space.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence

import numpy as np

from .. import ir
from ..evaluate import evaluate
from ..ops import OPS
from ..shapes import dim_size

# Props that fix a symbol's size (an orthogonal or one-hot matrix is not scaled).
UNSCALED = frozenset({"orthogonal", "onehot", "stochastic"})


def domains(expr: ir.Expr) -> dict[str, set[str]]:
    """Which symbols must be drawn positive / spd / well-conditioned so that
    every operation is defined at the random point (``log(X)`` needs X > 0)."""
    need: dict[str, set[str]] = {}
    for node in ir.distinct(expr):
        if not isinstance(node, ir.Apply):
            continue
        domain = OPS[node.op].domain
        for arg, dom in zip(node.args, domain(node) if callable(domain) else domain):
            if dom is None:
                continue
            for sym in (_signed_symbols(arg) if dom == "nonzero" else arg.symbols):
                if dom in ("spd", "invertible") and arg != sym:
                    continue
                need.setdefault(sym.name, set()).add("positive" if dom == "nonzero" else dom)
    return need


def _signed_symbols(arg: ir.Expr) -> set:
    """The symbols of a denominator that drawing positive keeps it away from 0: not
    those only under a spread or a size (``std``, ``var``, ``norm``: a reduction with
    nonnegative values), which positive entries do not make nonzero -- drawn positive,
    ``minimum(std(M), Z)`` is ``std(M)`` everywhere and its ``std`` is 0."""
    out, stack, seen = set(), [arg], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ir.Symbol):
            out.add(node)
        elif isinstance(node, ir.Apply):
            record = OPS[node.op]
            if not (record.range == "nonnegative" and not record.elementwise and node.args):
                stack.extend(node.args)
    return out


def sample(sym: ir.Symbol, dims: Mapping[str, int], rng: np.random.Generator,
           need: set[str] = frozenset()) -> np.ndarray:
    """A random value of ``sym`` with its props (and what its context needs).

    ``psd`` is drawn positive definite and ``nonnegative`` entrywise positive (the
    interior of their sets, so finite differences stay inside); a triangular matrix
    is the triangle of a draw, its diagonal away from 0 (so it is invertible)."""
    shape = tuple(dim_size(d, dims) for d in sym.shape)
    props = set(sym.props) | set(need)
    if "psd" in props:
        props.add("spd")
    if "nonnegative" in props:
        props.add("positive")
    x = _draw(shape, props, rng)
    for prop, triangle in (("lower_triangular", np.tril), ("upper_triangular", np.triu)):
        if prop in props and "diagonal" not in props:
            x = triangle(x)
            d = np.abs(np.diag(x)) + 0.5
            x[np.diag_indices(shape[0])] = d if "positive" in props else d * np.sign(np.diag(x) + 1e-300)
    return x


def _draw(shape, props: set[str], rng: np.random.Generator) -> np.ndarray:
    square = len(shape) == 2 and shape[0] == shape[1]
    if square and {"onehot", "stochastic"} & props and ("orthogonal" in props
                                                        or {"onehot", "symmetric"} <= props):
        # rows summing to 1 and orthogonal (or one-hot and symmetric): a permutation matrix
        return _permutation(shape[0], rng, involution="symmetric" in props)
    if "onehot" in props:
        return _rowwise(shape, lambda k: np.eye(k)[rng.integers(k)])
    if square and "stochastic" in props and {"symmetric", "spd"} & props:
        return _symmetric_stochastic(shape[0], rng, spd="spd" in props)
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
    if "spd" in props and "positive" in props:     # entrywise positive, diagonally dominant
        x = rng.uniform(0.5, 2.0, size=shape)
        return (x + x.T) / 2 + 2.0 * shape[0] * np.eye(shape[0])
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


def _permutation(n: int, rng: np.random.Generator, involution: bool) -> np.ndarray:
    """A random permutation matrix; a symmetric one (disjoint swaps) for an involution."""
    if not involution:
        return np.eye(n)[rng.permutation(n)]
    order = rng.permutation(n)
    perm = np.arange(n)
    for a, b in zip(order[0::2], order[1::2]):
        if rng.random() < 0.7:
            perm[a], perm[b] = b, a
    return np.eye(n)[perm]


def _symmetric_stochastic(n: int, rng: np.random.Generator, spd: bool) -> np.ndarray:
    """Symmetric, rows (and so columns) summing to 1, entries > 0: a convex mix of
    (Π + Πᵀ)/2 for random permutations Π and the uniform matrix; with weight
    0.6 on I it is positive definite too (the rest has eigenvalues in [-1, 1])."""
    w = rng.dirichlet(np.ones(4))
    x = w[3] * np.full((n, n), 1.0 / n)
    for k in range(3):
        p = np.eye(n)[rng.permutation(n)]
        x = x + w[k] * (p + p.T) / 2
    return 0.6 * np.eye(n) + 0.4 * x if spd else x


def _rowwise(shape, row):
    if len(shape) == 1:
        return row(shape[0]).astype(float)
    return np.stack([row(shape[1]) for _ in range(shape[0])]).astype(float)


def direction(sym: ir.Symbol, value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random perturbation that stays in the symbol's prop space."""
    v = rng.normal(size=value.shape)
    props = sym.props
    if "diagonal" in props:           # (diagonal and orthogonal: diag(±1), a discrete set)
        return np.zeros_like(v) if "orthogonal" in props else np.diag(np.diag(v))
    rows_fixed = bool({"onehot", "stochastic"} & props)   # rows keep summing to 1
    if "orthogonal" in props:
        k = (v - v.T) / 2
        if rows_fixed:                # K 1 = 0 too, so Q K has zero row sums
            k = _centered(k)
        if "symmetric" in props:      # Q K - K Q: tangent to both manifolds when Q = Qᵀ
            return value @ k - k @ value
        return value @ k
    if "symmetric" in props:
        s = (v + v.T) / 2
        return _centered(s) if rows_fixed else s
    if rows_fixed:
        return v - v.mean(axis=-1, keepdims=True)
    if "lower_triangular" in props:
        return np.tril(v)
    if "upper_triangular" in props:
        return np.triu(v)
    return v


def _centered(k: np.ndarray) -> np.ndarray:
    """``C K C`` with ``C = I - 11ᵀ/n`` (rows and columns summing to 0), in O(n²):
    the row and column means taken off, the overall mean put back."""
    return k - k.mean(axis=0, keepdims=True) - k.mean(axis=1, keepdims=True) + k.mean()


def entry_count(sym: ir.Symbol, x0: np.ndarray) -> int:
    """How many directions :func:`entry_directions` yields."""
    if "diagonal" in sym.props:
        return x0.shape[0]
    if {"symmetric", "lower_triangular", "upper_triangular"} & sym.props:
        return x0.shape[0] * (x0.shape[0] + 1) // 2
    return x0.size


def entry_directions(sym: ir.Symbol, x0: np.ndarray):
    """Unit perturbations of one entry each, or of a symmetric pair (E_ij + E_ji)
    for a symmetric symbol, of one diagonal entry for a diagonal one, of one entry
    of its triangle for a triangular one."""
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
    if {"lower_triangular", "upper_triangular"} & sym.props:    # the entries of its triangle
        lower = "lower_triangular" in sym.props
        for i, j in zip(*(np.tril_indices if lower else np.triu_indices)(x0.shape[0])):
            v = np.zeros_like(x0)
            v[i, j] = 1.0
            yield v
        return
    for idx in np.ndindex(*x0.shape):
        v = np.zeros_like(x0)
        v[idx] = 1.0
        yield v


def scaled(values: Mapping[str, np.ndarray], symbols: Mapping[str, ir.Symbol], factor: float):
    """``values`` with every symbol whose props do not fix its size multiplied by ``factor``."""
    return {k: (v * factor if not (UNSCALED & set(symbols[k].props)) else v) for k, v in values.items()}


def margin(constraints: Sequence[ir.Expr], values, dims) -> float:
    """How far inside the domain ``values`` lie: the smallest entry of every
    constraint ``g > 0``, relative to the largest (-inf outside, or where a
    constraint is not finite)."""
    worst = np.inf
    for g in constraints:
        with np.errstate(all="ignore"):
            v = np.asarray(evaluate(g, values, dims), dtype=float)
        if v.size == 0:
            continue
        if not np.all(np.isfinite(v)):
            return -np.inf
        worst = min(worst, float(np.min(v)) / max(1.0, float(np.max(np.abs(v)))))
    return worst


def solves(exprs, sym: ir.Symbol) -> bool:
    """Whether some of ``exprs`` passes ``sym`` through a linear solve: an
    argument of an op that needs an invertible or spd matrix (inv, det, logdet),
    where rounding grows with the condition number.  Only the nodes over ``sym``
    are visited (a few in a long sum of terms)."""
    stack, seen = list(exprs), set()
    while stack:
        node = stack.pop()
        if not isinstance(node, ir.Apply) or id(node) in seen or sym not in node.symbols:
            continue
        seen.add(id(node))
        domain = OPS[node.op].domain
        for arg, dom in zip(node.args, domain(node) if callable(domain) else domain):
            if dom in ("spd", "invertible") and sym in arg.symbols:
                return True
        stack.extend(node.args)
    return False


# Props a symbol may be drawn positive, or shrunk, in addition to (the search for a point inside a domain).
_FREE = frozenset({"symmetric", "spd", "diagonal", "positive", "constant", "nonnegative", "psd",
                   "lower_triangular", "upper_triangular"})
DOMAIN_TRIES = 400


def draw_within(constraints: Sequence[ir.Expr], exprs, symbols: Mapping[str, ir.Symbol],
                dims: Mapping[str, int], rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """Random values inside every constraint ``g > 0`` (``b - A @ x > 0``), or None.

    Draws as :func:`draw_inputs` does, then, while outside, again with some symbols
    drawn positive and some shrunk (``b - A @ x > 0`` holds for a positive ``b``
    and a small ``A @ x``); of the first few points inside, the one deepest inside
    (finite differences step around it)."""
    if not constraints:
        return draw_inputs(exprs, symbols, dims, rng)
    need = _needs(exprs)
    best, best_margin, found = None, -np.inf, 0
    for attempt in range(DOMAIN_TRIES):
        values = {}
        for name, sym in symbols.items():
            props = set(need.get(name, set()))
            factor = 1.0
            if attempt and set(sym.props) <= _FREE:
                if rng.random() < 0.4:
                    props.add("positive")
                factor = float(rng.choice([1.0, 1.0, 0.3, 0.1, 0.01]))
            values[sys.intern(name)] = sample(sym, dims, rng, props) * factor
        m = margin(constraints, values, dims)
        if m > best_margin:
            best, best_margin = values, m
        if m > 0:
            found += 1
            if found >= 5 or m > 0.1:
                break
    return best if best_margin > 0 else None


def draw_inputs(exprs, symbols: Mapping[str, ir.Symbol], dims: Mapping[str, int],
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random values of every symbol, inside the domain each of ``exprs`` (one
    expression or several: a value and its derivative) needs."""
    need = _needs(exprs)
    comparisons = _comparisons(exprs)
    best: tuple[int, dict] | None = None
    for _ in range(TIE_TRIES if comparisons else 1):
        # (names interned: the module's keyword parameters are, and CPython matches a keyword
        # argument by identity first; a string equal but not identical is compared with each
        # parameter in turn, so a call with k arguments costs k² comparisons)
        values = {sys.intern(name): sample(sym, dims, rng, need.get(name, set())) for name, sym in symbols.items()}
        tied = _ties(comparisons, values, dims)
        if best is None or tied < best[0]:
            best = (tied, values)
        if not tied:
            break
    return best[1]


TIE_TRIES = 4   # draws tried for one where no comparison ties (a tie such as X > X.T's diagonal stays)


def _comparisons(exprs) -> list[ir.Apply]:
    """The nodes whose first two arguments are compared (where(A > B, P, Q))."""
    return [n for e in ([exprs] if isinstance(exprs, ir.Expr) else exprs) for n in _comparisons_in(e)]


@functools.lru_cache(maxsize=64)
def _comparisons_in(expr: ir.Expr) -> tuple[ir.Apply, ...]:
    return tuple(n for n in ir.distinct(expr) if isinstance(n, ir.Apply) and OPS[n.op].compare is not None)


def _ties(comparisons: list[ir.Apply], values, dims) -> int:
    """How many entries of the comparisons are ties at ``values``: a comparison exactly at
    equality is where the choice jumps (where(Y > 0, ...) of a onehot Y, or of a stochastic Y
    with exact zeros), and finite differences there see the jump."""
    try:
        with np.errstate(all="ignore"):
            gaps = [np.asarray(evaluate(n.args[0], values, dims) - evaluate(n.args[1], values, dims), dtype=float)
                    for n in comparisons]
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return 0
    return sum(int(np.count_nonzero(np.abs(g) <= 1e-12)) for g in gaps)


def _needs(exprs) -> dict[str, set[str]]:
    """:func:`domains` of several expressions (their sum's), each walked once however often asked."""
    if isinstance(exprs, ir.Expr):
        exprs = [exprs]
    need: dict[str, set[str]] = {}
    for expr in exprs:
        for name, props in _domains(expr).items():
            need.setdefault(name, set()).update(props)
    return need


@functools.lru_cache(maxsize=64)
def _domains(expr: ir.Expr) -> dict[str, frozenset[str]]:
    return {name: frozenset(props) for name, props in domains(expr).items()}

