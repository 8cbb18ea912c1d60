"""Regressions found by the issue-16 campaigns (bench/campaign.py --higher): each drawn
case, shrunk, derived and checked end to end, with its numbers checked here too."""

from __future__ import annotations

import numpy as np
from test_module_check import _replace_function

import matcalc
from matcalc.codegen import load_module
from matcalc.evaluate import evaluate
from matcalc.verify import check_module

ONE_COLUMN = {"name": "w", "dims": {"n": 4, "m": 2},
              "symbols": {"s0": {"shape": [], "props": ["nonnegative"]}, "M2": {"shape": ["n", 1]}},
              "expr": "var(softmax(s0 / M2, axis=1))", "wrt": ["M2"], "order": 2}


def test_an_hvp_that_is_rounding_of_terms_growing_as_one_over_m4_agrees():
    """softmax over one column is 1, so every derivative of var of it is 0; the emitted
    Hessian is an exact 0 and the HVP is rounding of terms s0 / M2⁴ (2e-15), with no scale
    from the value or the gradient (both 0 too): agreement within the HVP's own rounding,
    not a disagreement of 3e-7 (campaign seed 16003, "wrong" though right)."""
    d = matcalc.derive(ONE_COLUMN)
    assert d.verification["M2"].status == "passed", d.verification["M2"]
    rng = np.random.default_rng(3)
    v = {"s0": 0.7, "M2": rng.normal(size=(4, 1))}
    r = d.results["M2"]
    assert np.max(np.abs(np.asarray(evaluate(r.matrix, v, d.problem.dims)))) < 1e-9
    module = d.function()
    assert np.max(np.abs(module.hvp_M2(**v, dM2=rng.normal(size=(4, 1))))) < 1e-9


def test_an_hvp_off_by_more_than_its_rounding_still_fails():
    """The same module with 1e-9 dS added to hvp_M2 (what no difference of grad_M2 sees):
    the Hessian is an exact 0, and a 1e-9 disagreement is a million times the HVP's own
    rounding, so the check still reports it."""
    d = matcalc.derive(ONE_COLUMN)
    last = d.code.split("def hvp_M2(")[1].split("\n\n\n")[0].rstrip().splitlines()[-1].strip()
    assert last.startswith("return ")
    wrong = _replace_function(d.code, "hvp_M2", f"return ({last[len('return '):]}) + 1e-9 * dM2")
    got = check_module(d.problem, d.results, load_module(wrong))["M2"]
    assert got.status == "failed" and "hvp_M2() disagrees with hess_M2()" in got.why, got
