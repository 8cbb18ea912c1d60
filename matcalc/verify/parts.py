"""What the check of one result judges: each function of the module for it, against
finite differences of another function of the module.

=============  ====================================  ===========================
function       differenced                           compared
=============  ====================================  ===========================
``grad_S``     ``value`` along directions of S        ``<G, V>``
``jac_S``      ``value`` (F) along directions of S    ``reshape(J vec V, F)``
``hess_S``     ``grad_S`` along directions of S       ``reshape(H vec V, S)``
``hvp_S``      ``grad_S`` along directions ``dS``     ``hvp_S(dS)``
``hess_A_B``   ``grad_A`` along directions of B       ``reshape(H vec V, A)``
=============  ====================================  ===========================

``vec`` stacks columns (:mod:`.vec`).  Where the differenced function is the
gradient of a symmetric (diagonal, triangular, ...) symbol, only its projection on
that symbol's directions is compared: the contract's derivatives are taken along
those directions, and any result that agrees there is right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir
from ..codegen.module import functions
from .sample import direction
from .vec import along, projection


@dataclass(frozen=True)
class Part:
    """One function judged: ``name`` against differences of ``base`` (IR ``base_expr``)
    along ``wrt``; ``exact`` is the IR ``name`` computes (in ``dS`` too for an HVP, whose
    direction is ``direction``); ``project`` the part of ``base``'s output compared."""

    name: str
    base: str
    base_expr: ir.Expr
    wrt: ir.Symbol
    exact: ir.Expr
    project: object = None
    direction: ir.Symbol | None = None


def parts(p, results, r) -> list[Part]:
    """The functions the check of ``r`` judges, each with what it is differenced against."""
    if r.kind == "mixed":
        first, second = r.pair
        grad = results[first].gradient
        return [Part(f"hess_{first}_{second}", f"grad_{first}", grad, p.symbols[second], r.matrix,
                     projection(p.symbols[first]))]
    sym = p.symbols[r.symbol]
    if r.kind == "hessian":
        out = [Part(f"grad_{sym.name}", "value", p.expr, sym, r.gradient),
               Part(f"hess_{sym.name}", f"grad_{sym.name}", r.gradient, sym, r.matrix, projection(sym))]
        if r.hvp is not None:
            out.append(Part(f"hvp_{sym.name}", f"grad_{sym.name}", r.gradient, sym, r.hvp, projection(sym),
                            r.direction))
        return out
    name = "jac" if r.kind == "jacobian" else "grad"
    return [Part(f"{name}_{sym.name}", "value", p.expr, sym, r.matrix)]


def names(p, r) -> list[str]:
    """Every function of the module for ``r`` (the ones judged, and a Jacobian's
    ``grad_S`` twin), then ``value`` and ``value_and_grad``."""
    return ["value"] + [n for n, _ in functions(p, r.symbol, r)] + ["value_and_grad"]


def with_direction(part: Part, values, d: np.ndarray | None):
    """``values`` with the direction of an HVP part set to ``d`` (the others: as given)."""
    if part.direction is None:
        return values
    return {**values, part.direction.name: d}


def fixed_direction(part: Part, values, seed: int) -> np.ndarray | None:
    """A direction of unit size in ``part.wrt``'s prop space, the same for a given shape
    and seed (what an HVP is run along where one direction will do)."""
    if part.direction is None:
        return None
    x = np.asarray(values[part.wrt.name], dtype=float)
    d = direction(part.wrt, x, np.random.default_rng(seed + 7))
    return d / max(float(np.linalg.norm(d)), 1e-300)


AGREE = 1e-7    # an HVP and the Hessian times the direction: the same numbers to rounding


def hvp_disagreement(part: Part, hess, hvp, grad, values, seed: int, value=None, tries: int = 3) -> str:
    """Why ``hvp(dS)`` disagrees with ``reshape(hess vec(dS), S)`` at ``values`` for
    random ``dS`` (projected as the differences are), or ''.  Each is compared on the
    scale of its terms, so that rounding around a 0 is no disagreement (a Hessian that
    is 0 for every input, written as terms that cancel): ``|H| |dS|``, and the natural
    ``|G| |dS| / |S|`` of a gradient ``G`` and ``|J| |dS| / |S|²`` of the value ``J`` (a
    Hessian and gradient that are 0 by cancellation leave rounding on the value's scale)."""
    rng = np.random.default_rng(seed + 11)
    h = np.asarray(hess(**values), dtype=float)
    x = np.asarray(values[part.wrt.name], dtype=float)
    g = float(np.max(np.abs(np.asarray(grad(**values), dtype=float)), initial=0.0))
    width = max(float(np.max(np.abs(x), initial=0.0)), 1e-300)
    natural = g / width
    if value is not None:          # the value at ``values``, computed once by the caller
        j = np.abs(np.asarray(value, dtype=float))
        natural = max(natural, float(np.max(j, initial=0.0)) / width ** 2 if np.all(np.isfinite(j)) else 0.0)
    project = part.project or (lambda a: a)
    for _ in range(tries):
        d = direction(part.wrt, x, rng)
        got = project(np.asarray(hvp(**with_direction(part, values, d)), dtype=float))
        want = project(along(h, d, x.shape))
        if got.shape != want.shape:
            return f"{part.name}() returns shape {got.shape}, not {want.shape}"
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
            if np.any(np.isfinite(got) != np.isfinite(want)):
                return f"{part.name}() and hess_{part.wrt.name}() disagree on where they are finite"
            continue
        # rounding of H vec(dS): eps times sum_j |H_ij| |dS_j|
        bound = float(np.max(np.abs(h) @ np.abs(np.ravel(d, order="F")), initial=0.0)) if h.ndim == 2 else 0.0
        reach = float(np.max(np.abs(d), initial=0.0))
        # 1e-8 |dS|: a function with no curvature at all (var of a softmax over one row, all
        # ones) computes H = 0 and an HVP of rounding (1e-17) with nothing to scale them by
        size = max(float(np.max(np.abs(want), initial=0.0)), bound, natural * reach, 1e-8 * reach, 1e-300)
        err = float(np.max(np.abs(got - want), initial=0.0)) / size
        if err > AGREE and not _within_rounding(part, hvp, values, x, d, got, want, project, rng):
            return (f"{part.name}() disagrees with hess_{part.wrt.name}() times the direction "
                    f"(column-stacked) by {err:.1e} (relative)")
    return ""


NUDGE = 1e-12   # the inputs moved by this, relatively: an HVP's own rounding shows
JITTER = 16     # a disagreement within this many times that rounding is rounding


def _within_rounding(part: Part, hvp, values, x, d, got, want, project, rng) -> bool:
    """Whether ``got - want`` is no more than the HVP's own rounding: what moving the
    point by :data:`NUDGE` (relatively, along a direction in the symbol's props) moves
    ``got`` by, where neither the Hessian nor the gradient gives a scale (both 0 by
    cancellation: ``var(softmax(s / M, axis=1))`` over one column, whose terms grow as
    ``1 / M⁴``).  A wrong HVP differs by its own size, a million times more."""
    step = direction(part.wrt, x, rng)
    step = step * (NUDGE * max(float(np.max(np.abs(x), initial=0.0)), 1e-300) /
                   max(float(np.max(np.abs(step), initial=0.0)), 1e-300))
    moved = {**with_direction(part, values, d), part.wrt.name: x + step}
    try:
        again = project(np.asarray(hvp(**moved), dtype=float))
    except Exception:  # noqa: BLE001 -- a point the function refuses: no scale found
        return False
    jitter = float(np.max(np.abs(again - got), initial=0.0))
    return bool(np.all(np.isfinite(again))) and float(np.max(np.abs(got - want), initial=0.0)) <= JITTER * jitter
