"""Regressions found by the issue-15 campaign (bench/campaign.py --higher): each drawn
case, shrunk, derived and checked end to end, and its numbers checked here too."""

from __future__ import annotations

import numpy as np

import matcalc
from matcalc.evaluate import evaluate


def test_an_hvp_that_is_zero_by_cancellation_agrees_with_the_hessian():
    """std is blind to a constant added to every entry, so the Hessian w.r.t. M0 (which
    enters only through one entry added everywhere) is 0, written as terms that cancel:
    the HVP and H vec(dS) are both rounding around 0 (1e-31), which is agreement on the
    scale of the value, not a 14% disagreement (seed 15002)."""
    d = matcalc.derive({"name": "w", "dims": {"n": 3, "m": 4},
                        "symbols": {"M0": {"shape": ["n", 1]}, "M1": {"shape": ["n", 1]},
                                    "z1": {"shape": ["n", "m"]}},
                        "expr": "std(ones(n, m) + M1 + (M0 - z1)[0][m-1])", "wrt": ["M0"], "order": 2})
    assert d.verification["M0"].status == "passed", d.verification["M0"]
    r = d.results["M0"]
    rng = np.random.default_rng(0)
    v = {"M0": rng.normal(size=(3, 1)), "M1": rng.normal(size=(3, 1)), "z1": rng.normal(size=(3, 4))}
    H = np.asarray(evaluate(r.matrix, v, d.problem.dims))
    assert r.shape == ("n", "n") and np.max(np.abs(H)) < 1e-12
    hv = np.asarray(evaluate(r.hvp, {**v, r.direction.name: rng.normal(size=(3, 1))}, d.problem.dims))
    assert hv.shape == (3, 1) and np.max(np.abs(hv)) < 1e-12


def test_an_hvp_of_a_function_with_no_curvature_is_rounding_agreement():
    """softmax over the one row of a [1, n] matrix is all ones, so var of it is 0 with
    every derivative 0; the emitted HVP is rounding (5e-17) against an exact 0, which is
    agreement, not a disagreement of 1e282 (campaign seed 15003)."""
    d = matcalc.derive({"name": "w", "dims": {"n": 3},
                        "symbols": {"M0": {"shape": [1, "n"]}, "s1": {"shape": []}},
                        "expr": "var(softmax(minimum(M0, s1), axis=0))", "wrt": ["M0"], "order": 2})
    assert d.verification["M0"].status == "passed", d.verification["M0"]
    rng = np.random.default_rng(1)
    v = {"M0": rng.normal(size=(1, 3)), "s1": 0.3}
    r = d.results["M0"]
    assert np.max(np.abs(np.asarray(evaluate(r.matrix, v, d.problem.dims)))) < 1e-12


def test_an_input_ending_inside_a_dimension_list_is_a_syntax_error():
    """`X @ X@ones(n,` ended the tokens where the reader of a product of dimensions
    (eye(m*n)) looked one token ahead: an IndexError (parser fuzz, seed 15004)."""
    import pytest

    from matcalc.errors import ExprSyntaxError
    from matcalc.ir import Symbol
    from matcalc.parse import parse

    for text in ("X @ X@ones(n,", "eye(", "ones(n, ", "commutation(n"):
        with pytest.raises(ExprSyntaxError):
            parse(text, {"X": Symbol(("n", "n"), "X")}, {"n": 3})
