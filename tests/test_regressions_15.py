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


def test_a_function_of_a_matrix_and_a_broadcast_vector_is_one_factor():
    """where(M0 / M1 > maximum(ones(n, n), v2), ...) lowers to step(A_ij - max(1, v_j)): a sum
    of entries with different indices, which the recognizer refused ("a sum of entries with
    different indices as one factor") although numpy broadcasts it: v_j is the row broadcast
    of v (campaign seed 15004)."""
    doc = {"name": "fuzz", "dims": {"n": 4},
           "symbols": {"M0": {"shape": [1, "n"], "props": ["constant"]},
                       "M1": {"shape": ["n", "n"], "props": ["positive", "stochastic"]},
                       "M3": {"shape": ["n", "n"], "props": ["upper_triangular"]}, "s5": {"shape": []},
                       "v2": {"shape": ["n"]}},
           "expr": "std(where(M0 / M1 > maximum(ones(n, n), v2), relu(M3), M3) / s5)", "wrt": ["M3"], "order": 2}
    d = matcalc.derive(doc)
    assert d.verification["M3"].status == "passed", d.verification["M3"]
    d = matcalc.derive({"dims": {"n": 3, "m": 4},
                        "symbols": {"A": {"shape": ["n", "m"], "props": ["constant"]},
                                    "v": {"shape": ["m"], "props": ["constant"]}, "M": {"shape": ["n", "m"]}},
                        "expr": "where(A > v, M, 2 * M)", "wrt": ["M"]})
    r = d.results["M"]
    assert d.verification["M"].status == "passed" and r.text == "2 * eye(m*n) - diag(vec(step(A - v)))"
    rng = np.random.default_rng(2)
    A, v = rng.normal(size=(3, 4)), rng.normal(size=4)
    want = np.diag(np.where(A > v, 1.0, 2.0).reshape(-1, order="F"))      # ∂ vec F / ∂ (vec M)ᵀ
    np.testing.assert_allclose(evaluate(r.matrix, {"A": A, "v": v, "M": rng.normal(size=(3, 4))}, d.problem.dims),
                               want)
