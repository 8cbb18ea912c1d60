"""clip(A, lo, hi), erf and stop_gradient(A): one record each in matcalc/ops/choice.py.

clip is numpy's (min(max(A, lo), hi)); each of A, lo, hi gets the gradient where
it is the value, split evenly at a tie.  erf's numpy form is a helper the emitted
module carries (it imports numpy only), accurate to about 1e-15; its exact
evaluator is mpmath's.  stop_gradient(A) is the value of A with the derivative
0; the checker's finite differences hold its value fixed.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import matcalc
from fuzz_check import examine
from matcalc.errors import ExprSyntaxError
from matcalc.language import to_text
from matcalc.ops import OPS
from matcalc.ops.choice import ERF_SOURCE, _erf
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode
from matcalc.verify.frozen import freezer
from support import EXPR_LINE, parse_in_scope, run_cli, yaml_doc

DIMS = {"n": 7, "m": 3}
LINEAR = {"X": {"shape": ["n", "m"], "props": ["constant"]}, "y": {"shape": ["n"], "props": ["constant"]},
          "w": {"shape": ["m"]}}
PAIR = {"A": {"shape": ["n", "m"]}, "C": {"shape": ["n", "m"], "props": ["constant"]},
        "lo": {"shape": []}, "hi": {"shape": []}}


def derive(expr, symbols, wrt, order=1):
    return matcalc.derive({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})


@pytest.mark.parametrize("text, shape, back, latex", [
    ("clip(X, -1, 1)", ("n", "m"), "clip(X, -1, 1)", "\\operatorname{clip}(X, -1, 1)"),
    ("clip(X, 0, y)", ("n", "m"), "clip(X, 0, y)", None),                  # y [m] broadcasts
    ("clip(x, s, p) + 1", ("n",), "clip(x, s, p) + 1", None),
    ("erf(X / sqrt(2))", ("n", "m"), "erf(X / sqrt(2))", None),
    ("stop_gradient(X @ y)", ("n",), "stop_gradient(X @ y)", "\\operatorname{sg}(X y)"),
    ("stop_gradient(X) * X", ("n", "m"), "stop_gradient(X) * X", None),
])
def test_parses_with_its_shape_and_prints_back(text, shape, back, latex):
    e = parse_in_scope(text)
    assert e.shape == shape and to_text(e) == back and parse_in_scope(back) == e
    if latex is not None:
        assert to_latex(e) == latex
    assert to_unicode(parse_in_scope("stop_gradient(X)")) == "sg(X)"


# -- clip ---------------------------------------------------------------------------------------

def test_clip_with_number_bounds():
    d = derive("sum(clip(A, -1, 1) * C)", PAIR, ["A"])
    assert to_text(d.results["A"].matrix) == "C * (sign(1 + A) - sign(A - 1)) / 2"
    assert d.verified
    rng = np.random.default_rng(0)
    A, C = 2 * rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    grad = d.function().grad_A(A=A, C=C, lo=0.0, hi=0.0)
    np.testing.assert_allclose(grad, np.where(np.abs(A) < 1, C, 0), rtol=1e-14)


def test_clip_splits_the_gradient_evenly_at_a_tie():
    d = derive("sum(clip(A, lo, hi) * C)", PAIR, ["A", "lo", "hi"])
    assert to_text(d.results["hi"].matrix) == "sum(C * (1 + sign(maximum(A, lo) - hi))) / 2"
    assert d.verified
    A = np.array([[-2.0, -1.0, 0.0], [1.0, 2.0, 0.5]] + [[0.0, 0.0, 0.0]] * 5)
    C = np.ones((7, 3))
    grads = d.function().value_and_grad(A=A, C=C, lo=-1.0, hi=1.0)[1]
    assert grads["A"][:2].tolist() == [[0, 0.5, 1], [0.5, 0, 1]]
    assert grads["lo"] == 1 + 0.5 and grads["hi"] == 1 + 0.5    # (-2 and 2 clipped, ±1 tied)


def test_clip_of_a_linear_model_squared():
    d = derive("sum(clip(X @ w, -1, 1) ** 2)", LINEAR, ["w"])
    assert to_text(d.results["w"].matrix) == "X.T @ (clip(X @ w, -1, 1) * (sign(1 + X @ w) - sign(X @ w - 1)))"
    assert d.verified
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(7, 3)), rng.normal(size=3)
    z = X @ w
    np.testing.assert_allclose(d.function().grad_w(X=X, y=np.zeros(7), w=w),
                               X.T @ (2 * np.clip(z, -1, 1) * (np.abs(z) < 1)), rtol=1e-13)


def test_clip_takes_three_arguments(tmp_path):
    with pytest.raises(ExprSyntaxError, match="clip takes 3 arguments"):
        parse_in_scope("clip(X, 0)")
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc("sum(clip(X, 0))"), encoding="utf-8")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2 and f"case.yaml:{EXPR_LINE}" in result.stderr and "^" in result.stderr


# -- erf -----------------------------------------------------------------------------------------

def test_the_numpy_erf_is_accurate_to_about_one_part_in_1e15():
    xs = np.concatenate([np.linspace(-7, 7, 4001), np.geomspace(1e-300, 1e-3, 40), [1.9999999, 2.0, 2.0000001]])
    with mpmath.workdps(40):
        want = np.array([float(mpmath.erf(mpmath.mpf(float(x)))) for x in xs])
    rel = np.abs(_erf(xs) - want) / np.maximum(np.abs(want), 1e-300)
    assert rel.max() < 2e-15
    assert np.array_equal(_erf(np.array([np.inf, -np.inf, 0.0, 40.0])), [1.0, -1.0, 0.0, 1.0])
    assert np.isnan(_erf(np.array(np.nan)))
    assert _erf(np.float64(0.5)) == pytest.approx(math.erf(0.5), rel=1e-15)


PROBIT = ("-sum(y * log((1 + erf(X @ w / sqrt(2))) / 2) + (1 - y) * log(1 - (1 + erf(X @ w / sqrt(2))) / 2))")


def test_probit_regression_derives_and_verifies():
    d = derive(PROBIT, LINEAR, ["w"])
    assert d.verified
    code = d.code
    assert "import numpy as np" in code and "scipy" not in code and "import math" not in code
    assert ERF_SOURCE.splitlines()[0] in code
    rng = np.random.default_rng(4)
    X, w = rng.normal(size=(7, 3)), 0.5 * rng.normal(size=3)
    y = (rng.random(7) < 0.5).astype(float)
    z = X @ w
    phi = np.exp(-z ** 2 / 2) / math.sqrt(2 * math.pi)
    Phi = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in z])
    want = -X.T @ (y * phi / Phi - (1 - y) * phi / (1 - Phi))
    np.testing.assert_allclose(d.function().grad_w(X=X, y=y, w=w), want, rtol=1e-12)


def test_erf_derivative_form():
    d = derive("sum(erf(A) * C)", PAIR, ["A"])
    assert to_text(d.results["A"].matrix) == "1.1283791670955126 * C * exp(-A ** 2)"   # 2 / sqrt(pi)
    assert d.verified


# -- stop_gradient ------------------------------------------------------------------------------

def test_stop_gradient_is_a_constant_to_differentiation():
    d = derive("sum(stop_gradient(A) * A)", PAIR, ["A"])
    assert to_text(d.results["A"].matrix) == "stop_gradient(A)"
    assert to_latex(d.results["A"].matrix) == "\\operatorname{sg}(A)"
    assert d.verified
    A = np.arange(21.0).reshape(7, 3)
    np.testing.assert_array_equal(d.function().grad_A(A=A, C=A, lo=0.0, hi=0.0), A)


def test_stop_gradient_in_a_linear_model():
    d = derive("sum(exp(stop_gradient(X @ w)) * (X @ w)) + w @ w", LINEAR, ["w"])
    assert to_text(d.results["w"].matrix) == "X.T @ exp(stop_gradient(X @ w)) + 2 * w"
    assert d.verified


def test_the_checker_holds_stop_gradient_fixed():
    """Differences about a point hold stop_gradient's value there; without it they
    would see 2A, which is not the derivative."""
    e = parse_in_scope("sum(stop_gradient(X) * X)")
    about = freezer(e, {"n": 3, "m": 4})
    X0, V = np.ones((3, 4)), np.full((3, 4), 0.5)
    f = about({"X": X0})
    assert f({"X": X0 + V}) == pytest.approx(np.sum(X0 * (X0 + V)))
    assert freezer(parse_in_scope("sum(X * X)"), {}) is None


def test_the_record_passes_nothing_back_and_its_index_form_is_a_constant():
    from matcalc import ir
    from matcalc.index.calculus import ZERO, contract, differentiate
    from matcalc.index.einsum import evaluate_index
    from matcalc.index.lower import Pool, lower
    op = OPS["stop_gradient"]
    A = ir.Symbol(("n", "m"), "A")
    node = ir.apply("stop_gradient", [A])
    assert op.frozen and op.vjp(ir.Symbol(("n", "m"), "G"), node) == (None,)
    pool = Pool()
    out = (pool.fresh("n"), pool.fresh("m"))
    entry = lower(node, out, pool)
    values = {"A": np.arange(12.0).reshape(3, 4)}
    np.testing.assert_array_equal(evaluate_index(entry, values, {"n": 3, "m": 4}, out), values["A"])
    assert contract(differentiate(entry, "A", (pool.fresh("n"), pool.fresh("m")), pool)) == ZERO


@pytest.mark.parametrize("expr, symbols, wrt, order", [
    ("sum(clip(A, lo, hi) * C)", PAIR, ["A", "lo", "hi"], 1),
    ("sum(clip(A, -1, 2) ** 2)", PAIR, ["A"], 2 - 1),
    ("sum(erf(X @ w) ** 2)", LINEAR, ["w"], 2),
    ("sum(stop_gradient(A) * A * C)", PAIR, ["A"], 1),
    ("sum(stop_gradient(X @ w) * (X @ w)) + sum(exp(w))", LINEAR, ["w"], 2),
    ("clip(x, -1, 1)", {"x": {"shape": ["n"]}}, ["x"], 1),                        # Jacobians
    ("erf(X @ w)", LINEAR, ["w"], 1),
    ("stop_gradient(x) * x", {"x": {"shape": ["n"]}}, ["x"], 1),
    ("sum(clip(X @ w, -1, 1) ** 2)", LINEAR, ["w"], 2),
])
def test_verified_with_its_index_form_and_reprinted(expr, symbols, wrt, order):
    outcome = examine({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})
    assert outcome.kind == "verified", outcome


def test_stop_gradient_takes_one_argument():
    with pytest.raises(ExprSyntaxError, match="stop_gradient takes 1 argument"):
        parse_in_scope("stop_gradient(X, X)")
