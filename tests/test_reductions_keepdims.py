"""``keepdims=True`` on every reduction with an axis (``sum mean max min logsumexp var std``):
the reduced axis is kept with size 1, so ``X - mean(X, axis=1, keepdims=True)`` broadcasts.

The shapes (the language table), the printed forms (language, LaTeX, unicode, numpy), the
hostile inputs, and the classics that need it: layer norm and batch norm, whose gradients
are checked numerically and against the operation count of the hand form (≤ 1.25×).
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from fuzz_check import examine
from matcalc import ir
from matcalc.errors import ExprSyntaxError, ForbiddenSyntaxError, ShapeError
from matcalc.language import to_text
from matcalc.matrix import build as B
from matcalc.matrix.simplify import simplify
from matcalc.parse import parse
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode
from support import EXPR_LINE, parse_in_scope, run_cli, yaml_doc

REDUCTIONS = ("sum", "mean", "max", "min", "logsumexp", "var", "std")

# the language table: X [n, m], x [n]
TABLE = [
    *[(f"{f}(X, axis=1, keepdims=True)", ("n", 1)) for f in REDUCTIONS],
    *[(f"{f}(X, axis=0, keepdims=True)", (1, "m")) for f in REDUCTIONS],
    *[(f"{f}(X, axis=1, keepdims=False)", ("n",)) for f in REDUCTIONS],
    *[(f"{f}(x, axis=0, keepdims=True)", (1,)) for f in REDUCTIONS],
    ("X - mean(X, axis=1, keepdims=True)", ("n", "m")),
    ("X / std(X, axis=0, keepdims=True)", ("n", "m")),
    ("exp(X - max(X, axis=1, keepdims=True))", ("n", "m")),
    ("sum(X, -1, keepdims=True)", ("n", 1)),
]


@pytest.mark.parametrize("text, shape", TABLE, ids=[t for t, _ in TABLE])
def test_table_row_parses_with_its_shape_and_prints_back(text, shape):
    e = parse_in_scope(text)
    assert e.shape == shape
    again = parse_in_scope(to_text(e))
    assert ir.digest(again) == ir.digest(e), to_text(e)


def test_printed_as_written():
    assert to_text(parse_in_scope("X - mean(X, axis=1, keepdims=True)")) == "X - mean(X, axis=1, keepdims=True)"
    assert to_text(parse_in_scope("sum(X, axis=1, keepdims=False)")) == "sum(X, axis=1)"
    assert to_text(parse_in_scope("logsumexp(x, keepdims=True)")) == "logsumexp(x, keepdims=True)"
    # kept as a row, a column sum is 1ᵀX; kept as a column, a row sum is X1
    assert to_unicode(parse_in_scope("sum(X, axis=0, keepdims=True)")) == "𝟏ᵀX"
    assert to_latex(parse_in_scope("sum(X, axis=0, keepdims=True)")) == "\\mathbf{1}^T X"
    assert to_unicode(parse_in_scope("sum(X, axis=1, keepdims=True)")) == "X𝟏"
    # along rows, along columns, over every entry: three spellings
    assert [to_unicode(parse_in_scope(f"var(X{a})")) for a in (", axis=1", ", axis=0", "")] == \
        ["var₁(X)", "var₀(X)", "var(X)"]
    assert to_latex(parse_in_scope("var(X, axis=0, keepdims=True)")) == \
        "\\operatorname{var}\\left(X,\\ \\text{columns}\\right)"


def derive(expr, symbols, wrt, dims=None):
    return matcalc.derive({"symbols": symbols, "dims": dims or {"n": 5, "m": 4}, "expr": expr, "wrt": wrt})


def test_centring_rows_golden_and_numbers():
    d = derive("sum(G * (X - mean(X, axis=1, keepdims=True)))",
               {"X": {"shape": ["n", "m"]}, "G": {"shape": ["n", "m"], "props": ["constant"]}}, ["X"])
    assert d.results["X"].text == "G - sum(G, axis=1, keepdims=True) / m"
    assert d.verified
    rng = np.random.default_rng(1)
    G, X = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    np.testing.assert_allclose(d.function().grad_X(X=X, G=G), G - G.mean(axis=1, keepdims=True), rtol=1e-13)


def test_emitted_code_keeps_the_axis():
    d = derive("sum(logsumexp(X, axis=1, keepdims=True) * c) + sum(mean(X, axis=0, keepdims=True) * r)",
               {"X": {"shape": ["n", "m"]}, "c": {"shape": ["n", 1]}, "r": {"shape": [1, "m"]}}, ["X"])
    assert d.verified
    assert "np.mean(X, axis=0, keepdims=True)" in d.code and "axis=1, keepdims=True)" in d.code
    rng = np.random.default_rng(2)
    X, c, r = rng.normal(size=(5, 4)), rng.normal(size=(5, 1)), rng.normal(size=(1, 4))
    value = d.function().value(X=X, c=c, r=r)
    lse = np.log(np.exp(X).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(value, np.sum(lse * c) + np.sum(X.mean(axis=0, keepdims=True) * r), rtol=1e-13)


def test_centred_rows_sum_to_zero():
    d = derive("sum(G * sum(X - mean(X, axis=1, keepdims=True), axis=1, keepdims=True)) + sum(X * X)",
               {"X": {"shape": ["n", "m"]}, "G": {"shape": ["n", 1], "props": ["constant"]}}, ["X"])
    assert d.results["X"].text == "2 * X" and d.verified
    for text, axis in [("sum(X - mean(X, axis=1, keepdims=True), axis=1)", ("n",)),
                       ("mean(mean(X, axis=0, keepdims=True) - X, axis=0, keepdims=True)", (1, "m")),
                       ("sum(x - mean(x))", ())]:
        log: list = []
        out = simplify(parse_in_scope(text), log=log)
        assert B.is_zero(out) or B.is_zeros(out), to_text(out)
        assert "centred-sums-to-zero" in [step.rule.name for step in log]


def test_a_row_constant_comes_out_of_a_kept_sum():
    d = derive("sum(H * (X - mean(X, axis=1, keepdims=True)) / c)",
               {"X": {"shape": ["n", "m"]}, "H": {"shape": ["n", "m"], "props": ["constant"]},
                "c": {"shape": ["n", 1], "props": ["positive", "constant"]}}, ["X"])
    assert d.results["X"].text == "(H - sum(H, axis=1, keepdims=True) / m) / c"
    assert d.verified


def test_a_column_of_ones_product_is_a_kept_sum():
    """``c: [n, 1]`` scales the rows: its gradient is the row sums of A ∘ X, a column."""
    d = derive("sum(A * (X * c))", {"A": {"shape": ["n", "m"], "props": ["constant"]}, "X": {"shape": ["n", "m"]},
                                    "c": {"shape": ["n", 1]}}, ["c"])
    assert d.results["c"].text == "sum(A * X, axis=1, keepdims=True)"
    assert d.verified


# -- layer norm and batch norm ---------------------------------------------------------

def _ops(e: ir.Expr) -> int:
    return ir.tree_size(e, count=lambda node: isinstance(node, ir.Apply))


C_ROWS = "(X - mean(X, axis=1, keepdims=True))"
S_ROWS = "sqrt(var(X, axis=1, keepdims=True) + eps)"
C_COLS = "(X - mean(X, axis=0, keepdims=True))"
S_COLS = "sqrt(var(X, axis=0, keepdims=True) + eps)"
NORM_SYMBOLS = {"X": {"shape": ["n", "m"]}, "gamma": {"shape": ["m"]}, "beta": {"shape": ["m"]},
                "G": {"shape": ["n", "m"], "props": ["constant"]}, "Yt": {"shape": ["n", "m"], "props": ["constant"]},
                "eps": {"shape": [], "props": ["positive", "constant"]}}


def _hand(upstream: str, c: str, s: str, axis: int) -> str:
    """X̄ = (Ȳ - mean(Ȳ) - C/s * mean(Ȳ * C/s)) / s along the axis (the hand form)."""
    kd = f"axis={axis}, keepdims=True"
    return (f"({upstream} - mean({upstream}, {kd}) - {c} / {s} * mean({upstream} * {c} / {s}, {kd})) / {s}")


NORMS = [
    ("layer norm", f"sum(G * {C_ROWS} / {S_ROWS})", _hand("G", C_ROWS, S_ROWS, 1)),
    ("layer norm, gamma and beta", f"sum(G * (gamma * {C_ROWS} / {S_ROWS} + beta))",
     _hand("gamma * G", C_ROWS, S_ROWS, 1)),
    ("batch norm", f"sum((gamma * {C_COLS} / {S_COLS} + beta - Yt) ** 2) / 2",
     _hand(f"gamma * (gamma * {C_COLS} / {S_COLS} + beta - Yt)", C_COLS, S_COLS, 0)),
]


@pytest.mark.parametrize("name, expr, hand", NORMS, ids=[n for n, _, _ in NORMS])
def test_normalisation_gradients_verify_within_the_hand_form_count(name, expr, hand):
    wrt = ["X", "gamma", "beta"] if "gamma" in expr else ["X"]
    d = derive(expr, NORM_SYMBOLS, wrt, dims={"n": 6, "m": 5})
    assert d.verified, name
    X = d.results["X"].matrix
    scope = {k: ir.Symbol(tuple(v["shape"]), k, frozenset(v.get("props", ()))) for k, v in NORM_SYMBOLS.items()}
    hand_form = parse(hand, scope, {"n": 6, "m": 5})
    assert _ops(X) <= 1.25 * _ops(hand_form), (_ops(X), _ops(hand_form), d.results["X"].text)
    # the hand form is the same function
    rng = np.random.default_rng(3)
    values = {k: rng.normal(size=tuple({"n": 6, "m": 5}[x] for x in v["shape"])) for k, v in NORM_SYMBOLS.items()}
    values["eps"] = np.float64(0.1)
    from matcalc.evaluate import evaluate
    np.testing.assert_allclose(evaluate(X, values, {"n": 6, "m": 5}), evaluate(hand_form, values, {"n": 6, "m": 5}),
                               rtol=1e-10, atol=1e-12)


def test_layer_norm_golden_form():
    d = derive(f"sum(G * {C_ROWS} / {S_ROWS})", NORM_SYMBOLS, ["X"], dims={"n": 6, "m": 5})
    # s² = eps + var: the row sums of G and of G ∘ C, the row constants taken out of them
    assert d.results["X"].text == (
        "((sum(G * (mean(X, axis=1, keepdims=True) - X), axis=1, keepdims=True) * (X - mean(X, axis=1, keepdims=True)) "
        "- sum(G, axis=1, keepdims=True) * (eps + var(X, axis=1, keepdims=True))) / m "
        "+ G * (eps + var(X, axis=1, keepdims=True))) / (eps + var(X, axis=1, keepdims=True)) ** 1.5")
    assert d.verified


@pytest.mark.parametrize("expr, wrt", [
    ("sum(G * (X - mean(X, axis=0, keepdims=True)) ** 2)", ["X"]),
    ("sum(logsumexp(X, axis=1, keepdims=True) * c)", ["X", "c"]),
    ("sum(G * exp(X - max(X, axis=1, keepdims=True)))", ["X"]),
    ("sum(G * X / std(X, axis=0, keepdims=True))", ["X"]),
    ("sum(sum(X, axis=0, keepdims=True) * r)", ["X", "r"]),
    ("sum(G * (X - min(X, axis=1, keepdims=True)) / var(X, axis=1, keepdims=True))", ["X"]),
])
def test_verified_with_its_index_form(expr, wrt):
    symbols = {"X": {"shape": ["n", "m"]}, "G": {"shape": ["n", "m"], "props": ["constant"]},
               "c": {"shape": ["n", 1]}, "r": {"shape": [1, "m"]}}
    outcome = examine({"symbols": symbols, "dims": {"n": 4, "m": 3}, "expr": expr, "wrt": wrt})
    assert outcome.kind == "verified", outcome


# -- hostile inputs ----------------------------------------------------------------------

@pytest.mark.parametrize("text, error, message, hint", [
    ("sum(X, axis=1, keepdims=3)", ExprSyntaxError, "keepdims must be True or False", "keepdims=True"),
    ("sum(X, axis=1, keepdims=true)", ExprSyntaxError, "keepdims must be True or False", "keepdims=True"),
    ("sum(X, axis=1, keepdims='yes')", ExprSyntaxError, "keepdims must be True or False", "keepdims=True"),
    ("trace(A, keepdims=True)", ExprSyntaxError, "trace takes no parameter", "no parameters"),
    ("softmax(X, axis=1, keepdims=True)", ExprSyntaxError, "softmax takes no parameter", "axis="),
    ("sum(X, keepdims=True)", ShapeError, "keepdims=True needs an axis", "axis=1, keepdims=True"),
    ("X * True", ForbiddenSyntaxError, "booleans", None),
    ("sum(X, axis=True)", ExprSyntaxError, "axis must be an integer", None),
])
def test_hostile_keepdims(text, error, message, hint, tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc(text), encoding="utf-8")
    result = run_cli("derive", str(path))
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert err.startswith(error.kind + ":") and message in err, err
    assert f"case.yaml:{EXPR_LINE}" in err and "^" in err, err
    if hint is not None:
        assert "hint:" in err and hint in err.split("hint:", 1)[1], err
