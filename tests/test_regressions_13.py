"""Campaign findings of issue 13 (seed 20261207), kept as regressions: each is fixed in
the mechanism named in its test."""

from __future__ import annotations

import numpy as np

import matcalc
from matcalc.evaluate import evaluate
from matcalc.verify import draw_inputs


def test_a_product_of_two_vectors_is_one_factor_of_a_chain():
    """matrix/rules/common.chain: ``(M1ᵀ v0) z0`` is a number; regrouping it as
    ``M1ᵀ (v0 z0)`` pairs [m] with [n] (factor-matmuls crashed with a ShapeMismatch)."""
    doc = {"symbols": {"M1": {"shape": ["m", "n"]}, "v0": {"shape": ["m"]}, "v2": {"shape": ["n"]},
                       "z0": {"shape": ["n"]}}, "dims": {"n": 3, "m": 4},
           "expr": "sin(v0 @ M1 @ z0 + v2)", "wrt": ["v0"]}
    d = matcalc.derive(doc)
    assert d.verified
    assert d.results["v0"].text == "outer(cos(M1.T @ v0 @ z0 + v2), M1 @ z0)"


def test_a_value_that_is_its_own_rounding_is_not_a_wrong_derivative():
    """verify/differences (f's float rounding, measured against 60 digits, bounds what its
    differences resolve) and verify/stability (a stochastic matrix's entries are rounded
    too): with m = 4, ``0.25 - M2`` summed over a stochastic row is 1 - Σ_j M2_j, rounding
    only, so the value and its gradient are both rounding noise at every scale."""
    doc = {"symbols": {"M0": {"shape": ["m", 1]}, "M2": {"shape": [1, "m"], "props": ["stochastic"]},
                       "M4": {"shape": [1, "m"]}, "s1": {"shape": []}, "v3": {"shape": ["m"]},
                       "z2": {"shape": ["m", "m"]}}, "dims": {"n": 3, "m": 4},
           "expr": "sum(einsum('i,ij->j', sum(M0 * s1 @ (0.25 - M2), axis=1), maximum(v3, M4) * z2), axis=0)",
           "wrt": ["v3"]}
    d = matcalc.derive(doc)
    assert d.verification["v3"].status == "passed", d.verification["v3"].why
    # ... and the result is the derivative: at m = 5 (where the sum is 0.25, not 0) it is checked for real
    doc5 = dict(doc, dims={"n": 3, "m": 5})
    d5 = matcalc.derive(doc5)
    assert d5.verified and d5.results["v3"].text == d.results["v3"].text
    values = draw_inputs(d5.problem.expr, d5.problem.symbols, d5.problem.dims, np.random.default_rng(0))
    assert np.max(np.abs(evaluate(d5.results["v3"].matrix, values, d5.problem.dims))) > 1e-3


def test_differences_of_a_value_that_rounds_its_argument_are_judged_to_that_rounding():
    """verify/differences: at scale 1e3, ``s0 - norm(v1 ** 3)`` is ~1e9 and each evaluation
    rounds its argument by ~1e-7; the value's float error, measured against 60 digits and
    divided by the step, bounds what the differences resolve (was a false 'wrong' at
    seed 0, also before issue 13)."""
    doc = {"symbols": {"s0": {"shape": []}, "v1": {"shape": ["m"]}}, "dims": {"n": 3, "m": 4},
           "expr": "softplus(cos(s0 - norm(v1 ** 3, 'fro')))", "wrt": ["s0"]}
    d = matcalc.derive(doc, seed=0)
    assert d.verification["s0"].status == "passed" and 1000.0 in d.verification["s0"].scales
    assert d.results["s0"].text == "-sigmoid(cos(s0 - norm(v1 ** 3, 'fro'))) * sin(s0 - norm(v1 ** 3, 'fro'))"


def test_the_check_still_fails_a_gradient_a_tenth_of_a_percent_off_where_the_value_rounds():
    """The measured rounding of f widens the floor only by what f actually loses: a
    gradient 0.1% off fails at scale 1, where f is exact to the last digits."""
    from matcalc.verify.differences import check_function
    from matcalc import ir

    s = ir.Symbol((), "s")
    f = lambda v: np.cos(v["s"] - 1e3)                          # noqa: E731
    exact = lambda v: np.cos(v["s"] - 1e3)                      # noqa: E731
    off = lambda v: -np.sin(v["s"] - 1e3) * 1.001               # noqa: E731
    check = check_function(f, off, 0, s, {"s": s}, lambda rng: {"s": np.array(0.3)}, exact=exact)
    assert check.status == "failed"


def test_a_steep_oscillation_is_judged_by_differences_at_60_digits():
    """verify/differences + evaluate.exact_slopes: sin(exp(sum(M0))) with sum(M0) ~ 14
    turns about ten radians within any float step; its differences at 60 digits judge
    the gradient instead (campaign seed 20261209, through einsum; the same with sum
    failed before issue 13: a false 'wrong')."""
    for expr in ("sin(exp(einsum('ij,ij->', M0, ones(m, n))))", "sin(exp(sum(M0)))"):
        for seed in range(3):
            d = matcalc.derive({"symbols": {"M0": {"shape": ["m", "n"], "props": ["positive"]}},
                                "dims": {"n": 3, "m": 4}, "expr": expr, "wrt": ["M0"]}, seed=seed)
            assert d.verification["M0"].status == "passed", (expr, seed)


def test_differences_at_60_digits_still_fail_a_gradient_a_tenth_of_a_percent_off():
    from matcalc import ir
    from matcalc.verify.differences import check_function

    s = ir.Symbol((), "s")
    expr = matcalc.parse.parse("sin(exp(s))", {"s": s}, {})
    f = lambda v: np.sin(np.exp(v["s"]))                                  # noqa: E731
    off = lambda v: np.cos(np.exp(v["s"])) * np.exp(v["s"]) * 1.001       # noqa: E731
    from matcalc.evaluate import exact_slopes
    slopes = lambda v, d, steps: exact_slopes(expr, v, {}, "s", d, steps)   # noqa: E731
    check = check_function(f, off, 0, s, {"s": s}, lambda rng: {"s": np.array(14.0)}, slopes=slopes)
    assert check.status == "failed"
