"""The noise model of the finite differences: how much rounding there is in
``f`` near a point (a nine-point fit), whether float64 can resolve ``f`` over
the stencil's span at all, and whether ``f`` bends more sharply than any step
resolves (a kink).  See :mod:`.differences`.
"""

from __future__ import annotations

import numpy as np


def scatter_of(f, x0: np.ndarray, v: np.ndarray, h: float) -> float:
    """The rounding noise of evaluating ``f`` near ``x0``: the largest distance
    of ``f(x0 + t v)`` (unit ``v``) from the parabola through nine points within
    ``h / 100``, where a smooth ``f`` is a parabola to working precision.
    It sees noise in ``f``: cos of entries of 1e6 carries eps 1e6.  Infinite
    where ``f`` is not finite at one of the nine points (``logdet`` of a matrix
    singular for every input is -inf or the log of a rounding error)."""
    ys, residual = polyfit_residual(f, x0, v, 1e-2 * h, degree=2)
    return residual if np.all(np.isfinite(ys)) else np.inf


def polyfit_residual(f, x0, v, span: float, degree: int) -> tuple[np.ndarray, float]:
    """``f(x0 + t v)`` at nine ``t`` in ``[-span, span]`` (rows), and their largest
    distance from the polynomial of ``degree`` fitted through them."""
    ts = np.linspace(-1.0, 1.0, 9)
    ys = np.stack([np.ravel(f(x0 + t * span * v)) for t in ts])
    if ys.size == 0 or not np.all(np.isfinite(ys)):
        return ys, 0.0
    basis = np.stack([ts ** k for k in range(degree + 1)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, ys, rcond=None)
    return ys, float(np.max(np.abs(ys - basis @ coef)))


def unresolvable(f, x0: np.ndarray, v: np.ndarray, h: float, size: float, slope: float) -> bool:
    """Whether float64 cannot resolve ``f`` over the stencil's span (``|t| <= 2h``
    along ``v``): ``f`` is known to worse than 1e-8 of its size (cos of entries
    of 1e12; ``sin(x + 1.5e13)``, which moves in steps of 2e-3), or it does not
    move where the derivative says it moves (``1 / log_softmax(x)`` at x ~ 500,
    whose log_softmax rounds to 0 or eps)."""
    ys, residual = polyfit_residual(f, x0, v, 2 * h, degree=4)
    if not np.all(np.isfinite(ys)):
        return True
    if ys.size == 0:
        return False
    if residual > 1e-8 * size:
        return True
    expected = slope * 4 * h
    moved = float(np.max(np.ptp(ys, axis=0)))
    return expected > 1e-8 * size and moved < 1e-3 * expected


def kink(bends: dict[float, float], h: float, noise: float) -> bool:
    """Whether ``f`` bends along the direction more sharply than any step can resolve.

    ``bends[s]`` is the second difference ``|f(x+sv) + f(x-sv) - 2f(x)| / s``,
    which is ``s |f''|`` for a smooth function, so it shrinks tenfold from
    ``s = h/10`` to ``h/100``; at a kink (a saturated ``logsumexp`` of two nearly
    tied entries is ``max``, smooth only on a scale of 1e-8) it stays the same,
    and central differences return the mean of the slopes on both sides."""
    coarse, fine = bends.get(h / 10, 0.0), bends.get(h / 100, 0.0)
    # (noise is already a difference-quotient size at step h: at h/100 it is 100 times that)
    return fine > 0.5 * coarse and fine > 10 * 100 * noise
