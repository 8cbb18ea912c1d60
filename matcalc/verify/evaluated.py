"""The check of a derivative given as IR against differences of an expression
given as IR, both evaluated by :func:`matcalc.evaluate.evaluate`: the finite
differences of :mod:`.differences` without an emitted module (tests, tools)."""

from __future__ import annotations

from ..evaluate import evaluate
from .. import ir
from .budget import EVALUATIONS
from .differences import SCALES, Check, Values, check_function
from .frozen import freezer
from .sample import draw_inputs, solves


def check_derivative(expr: ir.Expr, wrt: ir.Symbol, derivative: ir.Expr, symbols, dims,
                     *, seed: int = 0, directions: int = 4, max_entries: int = 400,
                     values: Values | None = None, scales: tuple[float, ...] = SCALES,
                     evaluations: int = EVALUATIONS) -> Check:
    """Compare ``derivative`` (gradient, Jacobian or the gradient of a Hessian
    check) with central differences of ``expr``, both IR evaluated by
    :func:`matcalc.evaluate.evaluate`, at random prop-respecting inputs
    (see :func:`check_function`)."""
    return check_function(lambda v: evaluate(expr, v, dims), lambda v: evaluate(derivative, v, dims),
                          expr.rank, wrt, symbols, lambda rng: draw_inputs([expr, derivative], symbols, dims, rng),
                          seed=seed, directions=directions, max_entries=max_entries, values=values, scales=scales,
                          solve=solves([expr, derivative], wrt), evaluations=evaluations, freeze=freezer(expr, dims))
