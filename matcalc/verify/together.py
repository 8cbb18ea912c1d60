"""Many gradients checked together, so that the check grows with the number of
symbols, not with its square.

Each check of one symbol's gradient evaluates the whole module (every symbol
is an argument, and the value sums over all of them) about a hundred times:
with 2,000 scalar symbols that is 200,000 evaluations, each as long as the
expression.  Gradients of plain symbols (no props that shape their
directions) are instead checked as one vector: ``value`` is differenced
along random directions of all of them at once and compared with the
gradients of ``value_and_grad``, entry by entry (each scalar symbol on its
own) as far as the budget goes, exactly as one vector symbol of that many
entries is checked.  Every ``grad_S`` is still run, and must agree with
``value_and_grad`` at the check's point; the stability probe runs
``value_and_grad``.  A block that fails is split in halves and checked
again, down to single symbols checked on their own, so the sentence names
the symbol at fault.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import numpy as np

from .. import ir
from ..evaluate import evaluate_many
from ..ops import mp
from ..shapes import dim_size
from .frozen import freezer
from .differences import FAILED, PASSED, Check, check_function
from .sample import draw_within, margin
from .stability import points, probe, probe_dims

SEPARATELY = 16       # up to this many results are checked one by one
PLAIN = frozenset({"positive"})    # props that leave a symbol's directions free
NAME = "(together)"   # the packed vector's name: not an identifier, so no symbol's


def together_names(problem, results: Mapping) -> tuple[str, ...]:
    """The results to check together: gradients of plain symbols, when there are
    more results than are checked one by one."""
    if len(results) <= SEPARATELY:
        return ()
    names = tuple(n for n, r in results.items() if r.kind == "gradient" and problem.symbols[n].props <= PLAIN)
    return names if len(names) > 1 else ()


class Block:
    """Symbols packed into one vector (and back)."""

    def __init__(self, names, symbols: Mapping[str, ir.Symbol], dims):
        self.names = tuple(sys.intern(n) for n in names)   # (see draw_inputs: keyword arguments by identity)
        self.shapes = [tuple(dim_size(d, dims) for d in symbols[n].shape) for n in self.names]
        sizes = [int(np.prod(s, dtype=int)) for s in self.shapes]
        self.ends = np.cumsum(sizes).tolist()
        self.symbol = ir.Symbol(shape=(self.ends[-1],), name=NAME)
        self.symbols = {n: s for n, s in symbols.items() if n not in self.names} | {NAME: self.symbol}

    def flat(self, parts: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.ravel(np.asarray(parts[n], dtype=float)) for n in self.names])

    def pack(self, values):
        if values is None:
            return None
        out = {k: v for k, v in values.items() if k not in self.names}
        out[NAME] = self.flat(values)
        return out

    def unpack(self, values):
        out = {k: v for k, v in values.items() if k != NAME}
        z, start = values[NAME], 0
        for name, shape, end in zip(self.names, self.shapes, self.ends):
            out[name] = z[start:end].reshape(shape)
            start = end
        return out


def check_together(problem, results, module, names, one: Callable, *, seed: int, explain, stability: bool,
                   report: Callable, advance: Callable[[float], None]) -> dict[str, Check]:
    """One :class:`Check` per name; ``one(result)`` checks a single result on its own."""
    constraints = tuple(getattr(problem, "domain", ()))
    exprs = [problem.expr] + [results[n].matrix for n in names]
    point = draw_within(constraints, exprs, problem.symbols, problem.dims, np.random.default_rng(seed))
    broken = _runs_and_agrees(problem, [results[n] for n in names], module, point) if point is not None else {}
    out = {n: _failed(n, why) for n, why in broken.items() if why}
    names = tuple(n for n in names if n not in out)
    if len(names) < 2:
        advance(len(out))
        return out | {n: one(results[n]) for n in names}
    block = Block(names, problem.symbols, problem.dims)
    check = _judged(problem, [results[n] for n in names], module, block, constraints, exprs, seed, explain,
                    stability, report(f"{len(names)} gradients together", len(names)))
    if check.status != FAILED:
        advance(len(names) + len(out))
        return out | {n: _as(n, check, problem) for n in names}
    advance(len(out))
    half = len(names) // 2      # a block that fails: each half again, down to single symbols
    for part in (names[:half], names[half:]):
        out |= (check_together(problem, results, module, part, one, seed=seed, explain=explain,
                               stability=stability, report=report, advance=advance) if len(part) > 1
                else {part[0]: one(results[part[0]])})
    return out


def _failed(name: str, why: str) -> Check:
    return Check(name, (), float("nan"), float("nan"), 0, 0, FAILED, (), why,
                 "agreement" if "disagree" in why or "returns no gradient" in why else "runs")


def _as(name: str, check: Check, problem) -> Check:
    """The block's check, as the check of ``name``."""
    shape = tuple(dim_size(d, problem.dims) for d in problem.symbols[name].shape)
    return Check(name, shape, check.max_abs_error, check.max_rel_error, check.directions, check.entries,
                 check.status, check.scales, check.why, check.cause)


def _judged(p, rs, module, block: Block, constraints, exprs, seed, explain, stability, spent) -> Check:
    """The block's differences against ``value_and_grad``'s gradients, then the probe."""
    def f(values):
        try:
            return module.value(**block.unpack(values))
        except np.linalg.LinAlgError:
            return np.full((), np.nan)

    def df(values):
        try:
            return block.flat(module.value_and_grad(**block.unpack(values))[1])
        except np.linalg.LinAlgError:
            return np.full(block.symbol.shape, np.nan)

    def draw(rng):
        return block.pack(draw_within(constraints, exprs, p.symbols, p.dims, rng))

    inside = (lambda v: margin(constraints, block.unpack(v), p.dims) > 0) if constraints else None
    held = freezer(p.expr, p.dims)       # stop_gradient's values held at the point differenced about
    freeze = None if held is None else lambda point: (lambda g: lambda v: g(block.unpack(v)))(held(block.unpack(point)))
    check = check_function(f, df, 0, block.symbol, block.symbols, draw, seed=seed, inside=inside, solve=False,
                           explain=(lambda v: explain(block.unpack(v))) if explain is not None else None,
                           progress=spent, freeze=freeze)
    if check.status != PASSED or not stability:
        return check
    rng = np.random.default_rng(seed + 1)
    dims = probe_dims(p.symbols, p.dims)
    candidates = [(where, v) for where, v in points(p.expr, exprs, constraints, p.symbols, dims, rng)
                  if _finite(module.value, v)]
    small = Block(block.names, p.symbols, dims)

    def exact(values, digits=mp.DPS):      # the results' shared parts (the forward pass) computed once
        got = evaluate_many([r.matrix for r in rs], values, dims, precise=True, digits=digits)
        return small.flat({r.symbol: g for r, g in zip(rs, got)})

    found = probe("value_and_grad", lambda **v: small.flat(module.value_and_grad(**v)[1]), exact,
                  candidates, dims, p.symbols, rng)
    if found.passed:
        return check
    return Check(check.symbol, check.shape, check.max_abs_error, check.max_rel_error, check.directions,
                 check.entries, FAILED, check.scales, found.sentence(), "stability")


def _finite(value, point) -> bool:
    with np.errstate(all="ignore"):
        try:
            return bool(np.all(np.isfinite(np.asarray(value(**point), dtype=float))))
        except (ArithmeticError, ValueError, np.linalg.LinAlgError):
            return False


def _runs_and_agrees(p, rs, module, point) -> dict[str, str]:
    """Per symbol: why its function does not run at ``point`` (raises, wrong shape)
    or disagrees with ``value_and_grad``, or ''.  ``value`` and ``value_and_grad``
    run once for all."""
    with np.errstate(all="ignore"):
        outputs = {}
        for name in ("value", "value_and_grad"):
            if not callable(getattr(module, name, None)):
                return {r.symbol: f"the emitted module defines no {name}()" for r in rs}
            try:
                outputs[name] = getattr(module, name)(**point)
            except np.linalg.LinAlgError:
                return {r.symbol: "" for r in rs}    # a singular matrix here: not the code's fault
            except Exception as exc:   # noqa: BLE001  (whatever the emitted code raises is the finding)
                return {r.symbol: f"{name}() raises {type(exc).__name__}: {exc}" for r in rs}
        value, both = outputs["value"], outputs["value_and_grad"]
        if np.shape(value) != ():
            return {r.symbol: f"value() returns shape {np.shape(value)}, not ()" for r in rs}
        out = {}
        for r in rs:
            want = tuple(dim_size(d, p.dims) for d in r.shape)
            if not callable(getattr(module, f"grad_{r.symbol}", None)):
                out[r.symbol] = f"the emitted module defines no grad_{r.symbol}()"
                continue
            try:
                grad = getattr(module, f"grad_{r.symbol}")(**point)
            except np.linalg.LinAlgError:
                out[r.symbol] = ""
                continue
            except Exception as exc:   # noqa: BLE001
                out[r.symbol] = f"grad_{r.symbol}() raises {type(exc).__name__}: {exc}"
                continue
            if np.shape(grad) != want:
                out[r.symbol] = f"grad_{r.symbol}() returns shape {np.shape(grad)}, not {want}"
                continue
            out[r.symbol] = disagreement(r.symbol, point, value, grad, *both)
    return out


AGREE = 1e-8     # value_and_grad and the standalone functions: the same numbers to rounding


def disagreement(symbol: str, point, value, grad, both_value, both_grads) -> str:
    """Why ``value_and_grad``'s (``both_value``, ``both_grads``) disagrees with the
    standalone ``value`` and ``grad_S`` at ``point``, or ''."""
    alone = {"value": (value, both_value), f"grad_{symbol}": (grad, both_grads.get(symbol))}
    # each compared on its natural scale, so that rounding around a 0 is not a disagreement
    # (a gradient that is 0 for every input): the value's is |x| |∇f|, the gradient's |f| / |x|
    x = float(np.max(np.abs(point[symbol]), initial=0.0)) or 1e-300
    f, g = (float(np.max(np.abs(np.asarray(out, dtype=float)), initial=0.0)) for out, _ in alone.values())
    natural = {"value": x * g, f"grad_{symbol}": f / x}
    for name, (a, b) in alone.items():
        if b is None:
            return f"value_and_grad() returns no gradient for {symbol}"
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            return f"value_and_grad() returns {name} of shape {b.shape}, {name}() of shape {a.shape}"
        finite = np.isfinite(a) & np.isfinite(b)
        if np.any(np.isfinite(a) != np.isfinite(b)):
            return f"value_and_grad() and {name}() disagree on where {name} is finite"
        if not finite.any():
            continue
        size = max(float(np.max(np.abs(a[finite]))), float(np.max(np.abs(b[finite]))), natural[name], 1e-300)
        err = float(np.max(np.abs(a[finite] - b[finite]))) / size
        if err > AGREE:
            return f"value_and_grad() and {name}() disagree by {err:.1e} (relative)"
    return ""
