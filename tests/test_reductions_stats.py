"""``max min var std``: reductions over all entries or along an axis (with ``keepdims``),
one record each in matcalc/ops/stats.py.

``var``/``std`` are the population statistics (ddof 0) and their gradients read as a
person writes them; ``max``/``min`` split the (sub)gradient evenly among tied entries,
exactly, in the result and in the emitted code.  The registry-parametrized tests
(tests/test_registry.py, tests/test_records.py) and the fuzzer pick them up by themselves.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import matcalc
from fuzz_check import examine
from matcalc import ir
from matcalc.errors import ShapeError
from matcalc.evaluate import evaluate
from matcalc.ops import OPS
from matcalc.render.latex import to_latex
from support import EXPR_LINE, parse_in_scope, run_cli, yaml_doc

SYMBOLS = {"x": {"shape": ["n"]}, "X": {"shape": ["n", "m"]},
           "G": {"shape": ["n", "m"], "props": ["constant"]}, "r": {"shape": [1, "m"], "props": ["constant"]}}
DIMS = {"n": 5, "m": 4}


def derive(expr, wrt):
    """Derive ``expr`` with the symbols it uses (the emitted functions take exactly those)."""
    used = {k: v for k, v in SYMBOLS.items() if re.search(rf"\b{k}\b", expr)}
    return matcalc.derive({"symbols": used, "dims": DIMS, "expr": expr, "wrt": [wrt]})


@pytest.mark.parametrize("expr, wrt, form", [
    ("var(x)", "x", "2 * (x - mean(x)) / n"),
    ("std(x)", "x", "(x - mean(x)) / (n * std(x))"),
    ("var(X)", "X", "2 * (X - mean(X)) / (m * n)"),
    ("sum(var(X, axis=0))", "X", "2 * (X - mean(X, axis=0, keepdims=True)) / n"),
    ("sum(std(X, axis=1))", "X", "(X - mean(X, axis=1, keepdims=True)) / (m * std(X, axis=1, keepdims=True))"),
    ("max(x)", "x", "(1 - sign(abs(x - max(x)))) / sum(1 - sign(abs(x - max(x))))"),
    ("sum(max(X, axis=1))", "X", "(1 - sign(abs(X - max(X, axis=1, keepdims=True)))) / "
                                 "sum(1 - sign(abs(X - max(X, axis=1, keepdims=True))), axis=1, keepdims=True)"),
    ("sum(min(X, axis=0, keepdims=True) * r)", "X",
     "r * (1 - sign(abs(X - min(X, axis=0, keepdims=True)))) / "
     "sum(1 - sign(abs(X - min(X, axis=0, keepdims=True))), axis=0, keepdims=True)"),
])
def test_golden_forms_verified(expr, wrt, form):
    d = derive(expr, wrt)
    assert d.results[wrt].text == form
    assert d.verified


def test_var_and_std_are_the_population_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 4))
    for text, want in [("var(X)", X.var()), ("std(X, axis=0)", X.std(axis=0)),
                       ("var(X, axis=1, keepdims=True)", X.var(axis=1, keepdims=True)),
                       ("std(X, axis=1)", np.sqrt(((X - X.mean(axis=1)[:, None]) ** 2).sum(axis=1) / 4))]:
        np.testing.assert_allclose(evaluate(parse_in_scope(text), {"X": X}, {"n": 5, "m": 4}), want, rtol=1e-14)
    d = derive("std(x)", "x")
    x = rng.normal(size=5)
    np.testing.assert_allclose(d.function().grad_x(x=x), (x - x.mean()) / (5 * x.std()), rtol=1e-13)


def test_max_splits_the_gradient_evenly_at_ties():
    x = np.array([1.0, 3.0, 3.0, 0.0, -1.0])
    d = derive("max(x)", "x")
    assert np.array_equal(d.function().grad_x(x=x), [0, 0.5, 0.5, 0, 0])
    assert np.array_equal(evaluate(d.results["x"].matrix, {"x": x}, DIMS), [0, 0.5, 0.5, 0, 0])
    d = derive("min(x)", "x")
    assert np.array_equal(d.function().grad_x(x=np.array([2.0, -1.0, -1.0, -1.0, 4.0])), [0, 1 / 3, 1 / 3, 1 / 3, 0])


def test_max_along_an_axis_splits_ties_row_by_row():
    X = np.array([[1.0, 2.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0], [0.0, -1.0, 3.0, 1.0],
                  [7.0, 7.0, 0.0, 0.0], [-2.0, -3.0, -2.0, -4.0]])
    G = np.arange(20.0).reshape(5, 4)
    d = derive("sum(G * max(X, axis=1, keepdims=True))", "X")
    grad = d.function().grad_X(X=X, G=G)
    want = np.zeros((5, 4))
    for i in range(5):
        ties = X[i] == X[i].max()
        want[i, ties] = G[i].sum() / ties.sum()
    assert np.array_equal(grad, want)
    d = derive("sum(min(X, axis=0))", "X")
    grad = d.function().grad_X(X=X)
    ties = X == X.min(axis=0)
    assert np.array_equal(grad, ties / ties.sum(axis=0))


def test_emitted_numpy_spells_the_reductions():
    d = derive("sum(G * X / std(X, axis=1, keepdims=True)) + var(x) + max(x)", "X")
    assert "np.std(X, axis=1, keepdims=True)" in d.code


def test_sixty_digit_evaluator_agrees():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 4))
    for name in ("sum", "mean", "max", "min", "logsumexp", "var", "std"):
        for axis, keep in itertools.product((None, 0, 1), (False, True)):
            if keep and axis is None:
                continue
            attrs = {"axis": axis, **({"keepdims": True} if keep else {})}
            node = ir.apply(name, [ir.Symbol(("n", "m"), "X")], attrs)
            plain = evaluate(node, {"X": X}, {"n": 5, "m": 4})
            exact = evaluate(node, {"X": X}, {"n": 5, "m": 4}, precise=True)
            assert np.shape(exact) == np.shape(plain) == tuple({"n": 5, "m": 4}.get(d, d) for d in node.shape)
            np.testing.assert_allclose(exact, plain, rtol=1e-13, err_msg=f"{name} {attrs}")


def test_latex():
    assert to_latex(parse_in_scope("max(X, axis=0)")) == "\\max\\left(X,\\ \\text{columns}\\right)"
    assert to_latex(parse_in_scope("std(x)")) == "\\operatorname{std}\\left(x\\right)"


def test_records_are_registered_with_their_parameters():
    for name in ("max", "min", "var", "std"):
        assert OPS[name].params == ("axis", "keepdims") and OPS[name].vjp is not None


@pytest.mark.parametrize("expr, wrt", [
    ("var(X @ y)", ["X"]),
    ("sum(std(X, axis=0) * y)", ["X", "y"]),
    ("max(X @ y) - min(x)", ["X", "x"]),
    ("sum(exp(X - max(X, axis=1, keepdims=True)))", ["X"]),
    ("sum(var(X.T, axis=1, keepdims=True) * y)", ["X"]),
])
def test_verified_with_its_index_form(expr, wrt):
    symbols = {"X": {"shape": ["n", "m"]}, "x": {"shape": ["n"]}, "y": {"shape": ["m"]}}
    outcome = examine({"symbols": symbols, "dims": {"n": 4, "m": 3}, "expr": expr, "wrt": wrt})
    assert outcome.kind == "verified", outcome


@pytest.mark.parametrize("text, message, hint", [
    ("max(s)", "max needs a vector or a matrix, not a scalar", "the number itself"),
    ("var(s)", "var needs a vector or a matrix, not a scalar", "is 0"),
    ("std(c, axis=1)", "std along an axis of size 1", "other axis"),
    ("max(X, axis=2)", "axis 2 is out of range for max", "axis=0 or axis=1"),
    ("min(x, keepdims=True)", "keepdims=True needs an axis", "axis="),
])
def test_hostile_stats(text, message, hint, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc(text, extra_symbols="\n  c: {shape: [n, 1]}"), encoding="utf-8")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith(ShapeError.kind + ":") and message in err, err
    assert f"case.yaml:{EXPR_LINE + 1}" in err and "^" in err, err
    assert "hint:" in err and hint in err.split("hint:", 1)[1], err
