"""log1p(x) = log(1 + x): one record in matcalc/ops/elementwise.py and nothing else.

The parser, the printers, the derivative (sympy.diff of log(1 + x)), the
evaluators, the stability probe and the code generator read the record; the
registry-parametrized tests (tests/test_registry.py, tests/test_records.py) pick it
up by themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from fuzz_check import examine
from matcalc.errors import ExprSyntaxError
from matcalc.language import to_text
from matcalc.ops import OPS
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode
from support import parse_in_scope

SYMBOLS = {"X": {"shape": ["n", "m"], "props": ["constant"]}, "w": {"shape": ["m"]}}
DIMS = {"n": 6, "m": 3}


def derive(expr, wrt="w", order=1, symbols=SYMBOLS):
    return matcalc.derive({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": [wrt], "order": order})


def test_parses_and_prints():
    e = parse_in_scope("2 * log1p(x + z)")
    assert e.shape == ("n",) and e.args[1].op == "log1p"
    assert to_text(e) == "2 * log1p(x + z)"
    assert to_latex(e) == "2 \\operatorname{log1p}(x + z)"
    assert to_unicode(e) == "2 log1p(x + z)"


def test_takes_one_argument():
    with pytest.raises(ExprSyntaxError, match="log1p takes 1 argument"):
        parse_in_scope("log1p(x, z)")


def test_domain_is_the_record_s():
    assert OPS["log1p"].domain == ("positive",)


def test_gradient_golden_form_and_numbers():
    d = derive("sum(log1p(X @ w))")
    assert to_text(d.results["w"].matrix) == "X.T @ (1 / (1 + X @ w))"
    assert d.verified
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(6, 3)), rng.uniform(0.1, 0.2, size=3) * np.sign(rng.normal(size=3))
    np.testing.assert_allclose(d.function().grad_w(X=X, w=w), X.T @ (1 / (1 + X @ w)), rtol=1e-13)


def test_hessian_golden_form():
    d = derive("sum(log1p(X @ w))", order=2)
    assert to_text(d.results["w"].matrix) == "-X.T @ diag(1 / (1 + X @ w) ** 2) @ X"
    assert d.verified


def test_emitted_code_calls_log1p_and_keeps_tiny_arguments():
    d = derive("sum(log1p(X @ w))")
    assert "np.log1p(" in d.code
    X = np.full((6, 3), 1e-12)
    assert d.function().value(X=X, w=np.ones(3)) == pytest.approx(6 * 3e-12, rel=1e-12)


@pytest.mark.parametrize("expr, symbols, wrt, order", [
    ("sum(log1p(X @ w))", SYMBOLS, ["w"], 2),
    ("sum(log1p(exp(A)) * B)", {"A": {"shape": ["n", "m"]}, "B": {"shape": ["n", "m"], "props": ["constant"]}},
     ["A"], 1),
    ("log1p(x @ x)", {"x": {"shape": ["n"]}}, ["x"], 2),
])
def test_verified_with_its_index_form(expr, symbols, wrt, order):
    outcome = examine({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})
    assert outcome.kind == "verified", outcome
