"""where(A > B, P, Q): elementwise choice, one record in matcalc/ops/choice.py.

The comparison is read only as where's first argument and stored as ``A > B``
(``L < R`` is ``R > L``; ``L <= R`` holds where ``L > R`` does not, so the
branches swap); the record writes it back the way a person reads it.  No
derivative flows through the comparison: ``P̄ = where(A > B, G, 0)``,
``Q̄ = where(A > B, 0, G)``.  Each derivation test checks the printed form and
the numbers (the emitted module against an independent numpy formula, and the
verifier's finite differences).
"""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from fuzz_check import examine
from matcalc.errors import ExprSyntaxError, ForbiddenSyntaxError, ShapeError
from matcalc.language import to_text
from matcalc.ops import OPS
from matcalc.render.latex import to_latex
from matcalc.render.unicode import to_unicode
from support import EXPR_LINE, parse_in_scope, run_cli, yaml_doc

DIMS = {"n": 7, "m": 3}
LINEAR = {"X": {"shape": ["n", "m"], "props": ["constant"]}, "y": {"shape": ["n"], "props": ["constant"]},
          "w": {"shape": ["m"]}, "d": {"shape": [], "props": ["positive", "constant"]}}
PAIR = {"A": {"shape": ["n", "m"]}, "B": {"shape": ["n", "m"]}, "C": {"shape": ["n", "m"], "props": ["constant"]}}


def derive(expr, symbols, wrt, order=1):
    return matcalc.derive({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(7, 3)), rng.choice([-1.0, 1.0], size=7), rng.normal(size=3)


# -- the language ------------------------------------------------------------------------

# (as written, shape, printed back, LaTeX, unicode)
TABLE = [
    ("where(X > 0, X, 0)", ("n", "m"), "where(X > 0, X, 0)",
     "\\begin{cases} X & \\text{if } X > 0 \\\\ 0 & \\text{otherwise} \\end{cases}", "where(X > 0, X, 0)"),
    ("where(x < 0, -x, x)", ("n",), "where(x < 0, -x, x)", None, "where(x < 0, −x, x)"),
    ("where(X >= 0, X, 0)", ("n", "m"), "where(X >= 0, X, 0)",
     "\\begin{cases} X & \\text{if } X \\ge 0 \\\\ 0 & \\text{otherwise} \\end{cases}", "where(X ≥ 0, X, 0)"),
    ("where(0 < x, x, 2)", ("n",), "where(x > 0, x, 2)", None, None),
    ("where(abs(x) <= s, x ** 2 / 2, s * (abs(x) - s / 2))", ("n",),
     "where(abs(x) > s, s * (abs(x) - s / 2), x ** 2 / 2)", None, None),
    ("where(X > y, X, 0)", ("n", "m"), "where(X > y, X, 0)", None, None),        # y [m] broadcasts
    ("where(c > r, 1, s)", ("n", "m"), "where(c > r, 1, s)", None, None),        # [n, 1] against [1, m]
    ("sum(where(X @ y > 0, X @ y, 0)) + 1", (), "sum(where(X @ y > 0, X @ y, 0)) + 1", None, None),
]


@pytest.mark.parametrize("text, shape, back, latex, uni", TABLE, ids=[row[0] for row in TABLE])
def test_parses_with_its_shape_and_prints_back(text, shape, back, latex, uni):
    e = parse_in_scope(text)
    assert e.shape == shape
    assert to_text(e) == back
    assert parse_in_scope(back) == e
    if latex is not None:
        assert to_latex(e) == latex
    if uni is not None:
        assert to_unicode(e) == uni


def test_every_comparison_is_one_strict_form():
    """All four comparisons become where(A, B, P, Q) meaning A > B, equal at ties too."""
    assert parse_in_scope("where(x < z, x, z)") == parse_in_scope("where(z > x, x, z)")
    assert parse_in_scope("where(x >= z, x, z)") == parse_in_scope("where(z > x, z, x)")
    assert parse_in_scope("where(x <= z, x, z)") == parse_in_scope("where(x > z, z, x)")
    node = parse_in_scope("where(x >= z, x, s)")
    assert node.op == "where" and [a.name for a in node.args[:3]] == ["z", "x", "s"]


def test_the_value_at_a_tie_follows_the_comparison():
    fn = OPS["where"].fn
    a = np.array([1.0, 2.0, 3.0])
    for text, want in [("where(x > z, 1, 0)", [0, 0, 1]), ("where(x >= z, 1, 0)", [0, 1, 1]),
                       ("where(x < z, 1, 0)", [1, 0, 0]), ("where(x <= z, 1, 0)", [1, 1, 0])]:
        node = parse_in_scope(text)
        values = {"x": a, "z": np.full(3, 2.0)}
        args = [values[e.name] if hasattr(e, "name") else float(e.value) for e in node.args]
        assert list(fn(*args)) == want, text


# -- the registry picks it up ---------------------------------------------------------------

def test_the_registry_tests_include_it_with_distinct_condition_arguments():
    from test_records import CALLS, ELEMENTWISE
    from test_registry import DIFFERENTIABLE, examples
    for name in ("where", "clip", "erf"):
        assert name in DIFFERENTIABLE and name in ELEMENTWISE and name in CALLS
    cases = examples(OPS["where"])
    assert len(cases) > 100 and all(len(shapes) == 4 for shapes, _ in cases)
    # ties avoided: the registry test draws its inputs independently from continuous
    # distributions, so A and B (distinct symbols) never tie
    from matcalc import ir
    from matcalc.verify import sample
    rng = np.random.default_rng(0)
    a, b = (sample(ir.Symbol(("n", "m"), k), {"n": 3, "m": 4}, rng, set()) for k in "AB")
    assert np.min(np.abs(a - b)) > 0


def test_the_fuzzer_draws_it():
    from strategies import SIGNATURES
    ops = {s.op for s in SIGNATURES}
    assert {"where", "clip", "erf", "stop_gradient"} <= ops
    # and a few signatures each, not thousands that crowd out every other operation
    assert sum(s.op == "where" for s in SIGNATURES) < 100


# -- derivatives: forms and numbers -------------------------------------------------------------

def test_vjp_sends_the_adjoint_to_the_branch_that_was_chosen():
    d = derive("sum(where(A > B, A, B * B) * C)", PAIR, ["A", "B"])
    assert to_text(d.results["A"].matrix) == "where(A > B, C, 0)"
    assert to_text(d.results["B"].matrix) == "where(A <= B, 2 * B * C, 0)"
    assert d.verified
    rng = np.random.default_rng(1)
    A, B, C = (rng.normal(size=(7, 3)) for _ in range(3))
    grads = d.function().value_and_grad(A=A, B=B, C=C)[1]
    np.testing.assert_allclose(grads["A"], np.where(A > B, C, 0), rtol=1e-14)
    np.testing.assert_allclose(grads["B"], np.where(A > B, 0, 2 * B * C), rtol=1e-14)


def test_relu_written_with_where():
    d = derive("sum(where(X @ w > 0, X @ w, 0))", LINEAR, ["w"])
    assert to_text(d.results["w"].matrix) == "X.T @ where(X @ w > 0, 1, 0)"
    assert d.verified
    X, y, w = data()
    np.testing.assert_allclose(d.function().grad_w(X=X, y=y, w=w, d=1.0), X.T @ (X @ w > 0), rtol=1e-14)


def test_leaky_relu_merges_its_two_choices():
    d = derive("sum(where(A > 0, A, 0.01 * A) * C)", PAIR, ["A"])
    assert to_text(d.results["A"].matrix) == "where(A > 0, C, C / 100)"
    assert d.verified


def test_huber_with_a_threshold():
    expr = "sum(where(abs(X @ w - y) <= d, (X @ w - y) ** 2 / 2, d * (abs(X @ w - y) - d / 2)))"
    d = derive(expr, LINEAR, ["w"])
    assert to_text(d.results["w"].matrix) == "X.T @ where(abs(X @ w - y) > d, d * sign(X @ w - y), X @ w - y)"
    assert d.verified
    X, y, w = data(2)
    r = X @ w - y
    want = X.T @ np.where(np.abs(r) <= 0.5, r, 0.5 * np.sign(r))
    np.testing.assert_allclose(d.function().grad_w(X=X, y=y, w=w, d=0.5), want, rtol=1e-13)


def test_a_jacobian_reads_the_indicator_as_a_function_of_matrices():
    d = derive("where(x > 0, x, 0)", {"x": {"shape": ["n"]}}, ["x"])
    assert to_text(d.results["x"].matrix) == "diag(step(x))"
    assert d.verified


def test_the_condition_passes_no_derivative():
    d = derive("sum(where(X @ w > 0, y, 0))", LINEAR, ["w"])
    assert d.verified
    X, y, w = data()
    assert not np.any(d.function().grad_w(X=X, y=y, w=w, d=1.0))


@pytest.mark.parametrize("expr, symbols, wrt, order", [
    ("sum(where(A > B, A, B * B) * C)", PAIR, ["A", "B"], 1),
    ("sum(where(A > 0, A ** 2, -A) * C)", PAIR, ["A"], 1),
    ("sum(where(X @ w > 0, X @ w, 0) ** 2)", LINEAR, ["w"], 2),
    ("sum(where(A < y, A, y) * C)", {**PAIR, "y": {"shape": ["m"]}}, ["y"], 1),    # broadcast: summed back
    ("sum(where(A >= B.T @ A, exp(A), 2 * A).T @ C)", {**PAIR, "B": {"shape": ["n", "n"]}}, ["A"], 1),
    ("sum(where(S <= S.T, S, 2 * S.T))", {"S": {"shape": ["n", "n"]}}, ["S"], 1),
    ("where(x > 0, x, 0)", {"x": {"shape": ["n"]}}, ["x"], 1),                    # a Jacobian
    ("sum(where(abs(X @ w - y) <= d, (X @ w - y) ** 2 / 2, d * (abs(X @ w - y) - d / 2)))", LINEAR, ["w"], 2),
])
def test_verified_with_its_index_form_and_reprinted(expr, symbols, wrt, order):
    outcome = examine({"symbols": symbols, "dims": DIMS, "expr": expr, "wrt": wrt, "order": order})
    assert outcome.kind == "verified", outcome


# -- hostile inputs: exit 2, the place, a hint ----------------------------------------------------

@pytest.mark.parametrize("text, error, message, hint", [
    ("where(X, X, 0)", ExprSyntaxError, "where's first argument must be a comparison", "where(A > B, P, Q)"),
    ("sum(X > 0)", ForbiddenSyntaxError, "only as where's first argument", "where(A > B, P, Q)"),
    ("exp(X) <= 1", ForbiddenSyntaxError, "only as where's first argument", "where(A > B, P, Q)"),
    ("where(X > 0, X > 1, 0)", ForbiddenSyntaxError, "only as where's first argument", "where(A > B, P, Q)"),
    ("where(X == 0, X, 0)", ForbiddenSyntaxError, "compares with >, <, >=, <=", "A > B or A >= B"),
    ("where(X != 0, X, 0)", ForbiddenSyntaxError, "compares with >, <, >=, <=", "A > B or A >= B"),
    ("sum(X) == 1", ForbiddenSyntaxError, "== is not part", ">, <, >=, <="),
    ("where(0 < X < 1, X, 0)", ForbiddenSyntaxError, "chained comparisons", "nest where"),
    ("where(X > 0, X)", ExprSyntaxError, "where takes 3 arguments (a comparison and 2 values), got 2",
     "where(A > B, P, Q)"),
    ("where(X > 0, X, 0, 1)", ExprSyntaxError, "got 4", "where(A > B, P, Q)"),
    ("where()", ExprSyntaxError, "where takes 3 arguments (a comparison and 2 values), got 0", "where(A > B, P, Q)"),
])
def test_bad_where_is_one_clear_message(tmp_path, text, error, message, hint):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_in_scope(text)
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc(f"sum({text})" if text.startswith("where") else text), encoding="utf-8")
    result = run_cli("derive", str(path))
    err = result.stderr
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.output
    assert err.startswith(error.kind + ":") and f"case.yaml:{EXPR_LINE}" in err and "^" in err, err
    assert hint in err.split("hint:", 1)[1], err


def test_the_caret_is_under_the_comparison(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_text(yaml_doc("sum(where(X == 0, X, 0))"), encoding="utf-8")
    err = run_cli("derive", str(path)).stderr.splitlines()
    source = next(i for i, line in enumerate(err) if "where(X == 0" in line)
    start = err[source + 1].index("^")
    assert err[source][start:start + 2] == "==" and err[source + 1].strip() == "^^"


def test_branches_that_do_not_broadcast_are_a_shape_error():
    with pytest.raises(ShapeError, match="where"):
        parse_in_scope("where(X > 0, X, x)")     # [n, m] against [n]


def test_the_sampler_avoids_ties_on_the_condition_where_it_can():
    """Column counts of a onehot Y are small integers: `sum(Y, axis=0) > 2` (4 rows, 2
    columns) ties at a third of first draws; the sampler draws again (a few times) for a
    point without a tie."""
    from matcalc import ir
    from matcalc.parse import parse
    from matcalc.verify.sample import _comparisons, _ties, draw_inputs, sample
    symbols = {"Y": ir.Symbol(("n", "m"), "Y", frozenset({"onehot"})), "w": ir.Symbol(("m",), "w")}
    e = parse("sum(where(sum(Y, axis=0) > 2, w, 2 * w))", symbols, {})
    dims = {"n": 4, "m": 2}
    conditions = _comparisons(e)
    tied_first = tied_drawn = 0
    for seed in range(30):
        first = {k: sample(s, dims, np.random.default_rng(seed), set()) for k, s in symbols.items()}
        tied_first += _ties(conditions, first, dims) > 0
        tied_drawn += _ties(conditions, draw_inputs(e, symbols, dims, np.random.default_rng(seed)), dims) > 0
    assert tied_first >= 5 and tied_drawn <= 1, (tied_drawn, tied_first)
