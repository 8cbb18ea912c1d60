"""Findings of issue 14's work, kept as regressions: each is fixed in the mechanism
named in its test."""

from __future__ import annotations

import numpy as np

import matcalc
from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.matrix.recognize import recognize
from matcalc.parse import parse
from matcalc.render.text import to_text


def test_two_equal_factors_are_both_kept_by_the_contraction_reader():
    """matrix/contraction._Graph.drop: ``M1_kj M1_kj`` is two edges that are equal; merging
    them as a Hadamard product removed the first by equality (the one being updated), so
    the product lost a factor: the Jacobian of sum(M1 * (u * M1), axis=0) read as
    diag(sum(M1, axis=0)), and a Hessian built on it was wrong (found by two campaigns)."""
    dims = {"n": 3, "m": 4}
    M1, u = ir.Symbol(("n", "m"), "M1"), ir.Symbol(("m",), "u")
    L = parse("sum(M1 * (u * M1), axis=0)", {"M1": M1, "u": u}, dims)
    J = recognize(L, u)
    assert to_text(J) == "diag(sum(M1 * M1, axis=0))"
    m1 = np.random.default_rng(0).normal(size=(3, 4))
    assert np.allclose(evaluate(J, {"M1": m1}, dims), np.diag((m1 * m1).sum(axis=0)))


def test_the_hessian_through_minimum_of_a_broadcast_quotient_verifies():
    doc = {"dims": {"n": 3, "m": 4}, "order": 2, "wrt": ["v2"],
           "symbols": {"M0": {"shape": ["n", "m"]}, "M1": {"shape": ["n", "m"]}, "v2": {"shape": ["m"]}},
           "expr": "norm(minimum(M0 + M1 * M1, M1 / sigmoid(v2)), 'fro')"}
    d = matcalc.derive(doc)
    assert d.verification["v2"].status == "passed", d.verification["v2"].why
    assert "minimum(M0 + M1 ** 2, M1 / sigmoid(v2))" in d.results["v2"].text


import pytest  # noqa: E402


def test_the_spread_of_entries_equal_by_structure_is_refused_not_failed():
    """rules/keepdims.spread-of-equal-entries (same_along): (a * ones(m, n)).T @ t has equal
    entries, so its std is 0 and the derivative's 0/0 is refused with a clear message; it
    was checked and failed (campaign seed 20261210)."""
    doc = {"dims": {"n": 3, "m": 4}, "symbols": {"M2": {"shape": ["m", 1]}, "v0": {"shape": ["m"]}},
           "expr": "std(tanh(tanh(v0)) @ ((0.25 / 2 + M2) * (2 + ones(n))), axis=0)", "wrt": ["M2"]}
    from matcalc.errors import DerivationError
    with pytest.raises(DerivationError, match="divides by zero"):
        matcalc.derive(doc)
    # a spread that is not of equal entries is kept, and verified
    doc2 = dict(doc, symbols={"M2": {"shape": ["m", "n"]}, "v0": {"shape": ["m"]}},
                expr="std(tanh(tanh(v0)) @ ((0.25 / 2 + M2) * (2 + ones(n))), axis=0)")
    d = matcalc.derive(doc2)
    assert d.verified and "std(" in d.results["M2"].text


def test_inverse_of_a_product_holding_an_inverse_does_not_crash():
    """rules/products.inverse-of-product: the factor to drop was looked up by the matrix
    under all its inverses, so a product holding inv(M9) (whose inverse is M9) was not
    found and the rule raised ValueError (bench/forms.py on seed 7, before and after issue 13)."""
    doc = {"dims": {"n": 2, "m": 3},
           "symbols": {"M6": {"shape": ["m", "m"], "props": ["orthogonal"]},
                       "M7": {"shape": ["m", "m"], "props": ["diagonal", "spd"]}, "M9": {"shape": ["m", "m"]},
                       "v8": {"shape": ["m"], "props": ["constant"]}},
           "expr": "det(M6 @ (M7 @ (diag(v8) @ inv(M9))))", "wrt": ["M6"]}
    d = matcalc.derive(doc)
    assert d.verified
    assert d.results["M6"].text.startswith("det(M6 @ M7 @ (diag(v8) @ inv(M9))) * ")
