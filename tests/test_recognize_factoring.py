"""Terms sharing a diag factor read as one product (matcalc/matrix/factoring.py), and the
rule ones-inner: each derivation checked by its printed form and by central differences
of the expression itself (an evaluator independent of the reading)."""

from __future__ import annotations

import numpy as np
import pytest
from support import compact_doc

import matcalc
from matcalc.evaluate import evaluate
from matcalc.matrix import build as B
from matcalc.matrix.rules import rule_named
from matcalc.render.text import to_text

CASES = [
    # Σ_t diag(α_t) M_t diag(β_t ∘ p): the common diag(p ∘ ...) written once, on the right
    ("softmax(exp(x))", 1, "(diag(exp(x)) - outer(softmax(exp(x)), exp(x))) @ diag(softmax(exp(x)))"),
    ("logsumexp(relu(x))", 2,
     "diag(step(x)) @ ((eye(n) - outer(softmax(relu(x)), ones(n))) @ diag(softmax(relu(x)) * step(x)))"),
    # a common scalar goes out with it: 1 / norm stays outside the sum
    ("norm(softplus(x))", 2, ("(diag(sigmoid(x) * (1 - softplus(x)) + softplus(x)) - outer(sigmoid(x) * softplus(x), "
                              "softplus(x)) / norm(softplus(x)) ** 2) @ diag(sigmoid(x)) / norm(softplus(x))")),
    # a single term is read as it is (nothing to share)
    ("sum(softplus(X @ x))", 2, "X.T @ diag(sigmoid(X @ x) * (1 - sigmoid(X @ x))) @ X"),
]


def _fd(d, name):
    p = d.problem
    rng = np.random.default_rng(5)
    vals = {s: rng.normal(size=tuple(p.dims.get(x, x) for x in sym.shape)) for s, sym in p.symbols.items()}
    f = (lambda v: np.asarray(evaluate(p.expr, v, p.dims), dtype=float)) if p.order == 1 else \
        (lambda v: np.asarray(evaluate(d.results[name].gradient, v, p.dims), dtype=float))
    h, cols = 1e-6, []
    for e in np.eye(vals[name].shape[0]):
        plus, minus = dict(vals, **{name: vals[name] + h * e}), dict(vals, **{name: vals[name] - h * e})
        cols.append((f(plus) - f(minus)) / (2 * h))
    return vals, np.array(cols).T


@pytest.mark.parametrize("expr, order, form", CASES, ids=[c[0] for c in CASES])
def test_shared_diag_factor_is_written_once(expr, order, form):
    d = matcalc.derive(compact_doc(expr, "x:[n] X:[m,n]", "x", order, dims={"n": 3, "m": 4}))
    assert d.results["x"].text == form
    vals, want = _fd(d, "x")
    got = np.asarray(evaluate(d.results["x"].matrix, vals, d.problem.dims), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr, symbols, form", [
    # Σ_k P_ki (1/M)_k1: a column read as a vector multiplies by broadcasting, no transpose
    ("sum(log_softmax(v / M, axis=1), axis=0)", "v:[n] M:[n,1]",
     "sum(1 / M) * eye(n) - sum(softmax(v / M, axis=1) / M, axis=0)"),
    # sum(C, axis=1) * sum(D, axis=1) = sum(C * D, axis=1) (rule unit-sums-product)
    ("logsumexp(sin(sin(dot(v * M0, -M2))), axis=1)", "v:[m] M0:[n,1] M2:[m,1]",
     "-outer(sum(M0 * cos(dot(v * M0, -M2)) * cos(sin(dot(v * M0, -M2))), axis=1), sum(M2, axis=1))"),
])
def test_columns_read_as_vectors(expr, symbols, form):
    d = matcalc.derive(compact_doc(expr, symbols, "v", 1, dims={"n": 3, "m": 4}))
    assert d.results["v"].text == form
    vals, want = _fd(d, "v")
    got = np.asarray(evaluate(d.results["v"].matrix, vals, d.problem.dims), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_factor_that_may_overflow_stays_in_its_terms():
    """X diag(c) computes 0 · c off the diagonal (NaN where c is inf): exp(x) is not taken
    out, softmax(exp(x)) (values in [0, 1]) is."""
    from matcalc.ir import Symbol
    from matcalc.matrix.contraction import Reading
    from matcalc.matrix.factoring import grouped
    e = B.call("exp", B.call("sin", B.call("cos", B.call("tanh", Symbol(("n",), "x")))))
    terms = [Reading([], [e], [], B.eye("n"), ("n", "n")), Reading([B.num(-1)], [e], [e], None, ("n", "n"))]
    big = "exp(sin(cos(tanh(x))))"
    assert to_text(grouped(terms)) == f"diag({big}) - outer({big}, {big})"


def test_ones_inner_rule():
    rule = rule_named("ones-inner")
    assert rule.identity.startswith("1 · 1 = n")
    v = matcalc.parse.parse("x", {"x": matcalc.ir.Symbol(("n",), "x")}, {"n": 3})
    assert to_text(rule.apply(B.matmul(B.ones(("n",)), B.ones(("n",))), None)) == "n"
    assert to_text(rule.apply(B.matmul(v, B.ones(("n",))), None)) == "sum(x)"
    assert rule.apply(B.matmul(v, v), None) is None
    x = np.array([1.0, 2.0, 4.0])
    assert float(evaluate(rule.apply(B.matmul(v, B.ones(("n",))), None), {"x": x}, {"n": 3})) == 7.0
