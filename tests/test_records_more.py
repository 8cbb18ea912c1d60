"""minimum, expm1 and log_sigmoid: one record each in matcalc/ops/elementwise.py.
Each is parsed, printed, differentiated (gradient and Hessian) and checked against
finite differences by the emitted module; the registry tests pick them up."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.language import to_text
from support import parse_in_scope

SYMBOLS = {"X": {"shape": ["n", "m"], "props": ["constant"]}, "w": {"shape": ["m"]}, "y": {"shape": ["n"]}}
DIMS = {"n": 6, "m": 3}


def derive(expr, order=1):
    return matcalc.derive({"symbols": SYMBOLS, "dims": DIMS, "expr": expr, "wrt": ["w"], "order": order})


@pytest.mark.parametrize("text", ["minimum(x, z)", "expm1(x)", "log_sigmoid(x)"])
def test_parses_and_prints_back(text):
    assert to_text(parse_in_scope(text)) == text


@pytest.mark.parametrize("expr, grad, order2", [
    ("sum(expm1(X @ w))", "X.T @ exp(X @ w)", "X.T @ diag(exp(X @ w)) @ X"),
    # logistic loss written with log_sigmoid: ∇ = -Xᵀ (σ(-y ∘ Xw) ∘ y)
    ("-sum(log_sigmoid(y * (X @ w)))", "-X.T @ (sigmoid(-X @ w * y) * y)", None),
    ("sum(minimum(X @ w, 1))", "X.T @ (1 - sign(X @ w - 1)) / 2", "0"),
])
def test_gradient_and_hessian_forms_and_numbers(expr, grad, order2):
    d = derive(expr)
    assert d.verified and d.results["w"].text == grad
    h = derive(expr, order=2)
    assert h.verified
    if order2 is not None:
        assert h.results["w"].text == order2


def test_minimum_splits_the_gradient_evenly_at_a_tie():
    d = matcalc.derive({"symbols": {"a": {"shape": ["n"]}, "b": {"shape": ["n"]}}, "dims": {"n": 3},
                        "expr": "sum(minimum(a, b))", "wrt": ["a", "b"]})
    f = d.function()
    x = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(f.grad_a(a=x, b=x), np.full(3, 0.5))
    assert np.array_equal(f.grad_b(a=x, b=x), np.full(3, 0.5))


def test_log_sigmoid_is_stable_where_sigmoid_underflows():
    d = matcalc.derive({"symbols": {"x": {"shape": ["n"]}}, "dims": {"n": 2}, "expr": "sum(log_sigmoid(x))",
                        "wrt": ["x"]})
    f = d.function()
    x = np.array([-800.0, 800.0])
    assert np.allclose(f.value(x=x), -800.0) and np.allclose(f.grad_x(x=x), [1.0, 0.0])


@pytest.mark.parametrize("expr, wrt, form", [
    ("sum(square(X @ w - y))", "w", "2 * X.T @ (X @ w - y)"),
    ("sum(exp(square(w)))", "w", "2 * exp(square(w)) * w"),
])
def test_square(expr, wrt, form):
    d = derive(expr)
    assert d.verified and d.results[wrt].text == form


@pytest.mark.parametrize("expr, form", [
    ("sum((X + zeros(n, m)) * X)", "2 * X"),
    ("sum(X @ zeros(m, m) @ X.T)", "0"),        # zeros(n, m) = 0 ones(n, m): the rule zeros-is-zero
    ("sum(X * zeros(n, m))", "0"),
])
def test_zeros_is_the_zero_matrix(expr, form):
    d = matcalc.derive({"symbols": {"X": {"shape": ["n", "m"]}}, "dims": {"n": 3, "m": 2}, "expr": expr,
                        "wrt": ["X"]})
    assert d.verified and d.results["X"].text == form and d.results["X"].shape == ("n", "m")
    assert to_text(parse_in_scope("zeros(n, m)")) == "zeros(n, m)"
