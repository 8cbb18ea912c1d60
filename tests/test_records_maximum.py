"""maximum(A, B): a binary elementwise function with numpy's broadcasting, one
record in matcalc/ops/elementwise.py and nothing else.

Its derivative is sympy's, per argument, from one definition whose ``fdiff``
splits the gradient evenly at ties: ∂max(a, b)/∂a = Heaviside(a − b, 1/2) =
(1 + sign(a − b)) / 2.  The registry-parametrized tests (tests/test_registry.py,
tests/test_records.py) pick it up by themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import matcalc
from fuzz_check import examine
from matcalc.errors import ExprSyntaxError
from matcalc.language import to_text
from matcalc.ops.elementwise import derivatives
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode
from support import parse_in_scope

DIMS = {"n": 5, "m": 3}
LINEAR = {"X": {"shape": ["n", "m"], "props": ["constant"]}, "w": {"shape": ["m"]}}
PAIR = {"A": {"shape": ["n", "m"]}, "B": {"shape": ["n", "m"]}, "C": {"shape": ["n", "m"], "props": ["constant"]}}


def derive(expr, symbols, wrt, order=1):
    return matcalc.derive({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})


def test_parses_with_broadcasting_and_prints():
    e = parse_in_scope("maximum(X, y) + 1")
    assert e.shape == ("n", "m") and e.args[0].op == "maximum"
    assert to_text(e) == "maximum(X, y) + 1"
    assert to_latex(e) == "\\max(X, y) + 1"
    assert to_unicode(e) == "maximum(X, y) + 1"
    assert parse_in_scope("maximum(x @ A, 0)").shape == ("n",)


def test_takes_two_arguments():
    with pytest.raises(ExprSyntaxError, match="maximum takes 2 arguments"):
        parse_in_scope("maximum(X)")


def test_the_derivative_is_heaviside_with_one_half():
    a, b = sympy.symbols("x y", real=True)
    for d, (u, v) in zip(derivatives("maximum"), [(a, b), (b, a)]):
        for at in (-2, 0, sympy.Rational(1, 3)):
            assert d.subs({u: at, v: 0}) == sympy.Heaviside(at, sympy.S.Half)


def test_golden_relu_form_and_numbers():
    d = derive("sum(maximum(X @ w, 0))", LINEAR, ["w"])
    assert to_text(d.results["w"].matrix) == "X.T @ (1 + sign(X @ w)) / 2"
    assert d.verified
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(5, 3)), rng.normal(size=3)
    np.testing.assert_allclose(d.function().grad_w(X=X, w=w), X.T @ (X @ w > 0), rtol=1e-13)


def test_emitted_code_splits_the_gradient_exactly_at_ties():
    d = derive("sum(maximum(X @ w, 0))", LINEAR, ["w"])
    X = np.arange(15.0).reshape(5, 3)
    assert np.array_equal(d.function().grad_w(X=X, w=np.zeros(3)), X.sum(axis=0) / 2)
    d = derive("sum(maximum(A, B) * C)", PAIR, ["A", "B"])
    A, C = np.arange(15.0).reshape(5, 3), np.full((5, 3), 3.0)
    B = A.copy()
    B[0, 0] += 1
    grads = d.function().value_and_grad(A=A, B=B, C=C)[1]
    half = np.full((5, 3), 1.5)
    assert np.array_equal(grads["A"], np.where(B > A, 0.0, half)) and np.array_equal(grads["B"], np.where(B > A, 3.0, half))


def test_both_arguments_golden():
    d = derive("sum(maximum(A, B) * C)", PAIR, ["A", "B"])
    assert to_text(d.results["A"].matrix) == "C * (1 + sign(A - B)) / 2"
    assert to_text(d.results["B"].matrix) == "C * (1 + sign(B - A)) / 2"
    assert d.verified


@pytest.mark.parametrize("expr, symbols, wrt, order", [
    ("sum(maximum(X @ w, 0))", LINEAR, ["w"], 1),
    ("sum(maximum(X @ w, 0) ** 2)", LINEAR, ["w"], 2),
    ("sum(maximum(A, B) * C)", PAIR, ["A", "B"], 1),
    ("sum(maximum(A, y) * C)", {**PAIR, "y": {"shape": ["m"]}}, ["y"], 1),     # broadcast: summed back
    ("sum(maximum(A, B).T @ C)", PAIR, ["A"], 1),
    ("sum(maximum(S, S.T))", {"S": {"shape": ["n", "n"]}}, ["S"], 1),
])
def test_verified_with_its_index_form(expr, symbols, wrt, order):
    outcome = examine({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})
    assert outcome.kind == "verified", outcome
