"""Layer norm's gradient as a careful person writes it (issue 14): in the user's names
for the centred matrix C and the row standard deviation s, within 1.25x the operations
of the textbook backward pass -- record.in_let_names writes s ** 2 and s ** 3 for the
radicand and its 3/2 power, -C for the negation, and tidies again in the names."""

from __future__ import annotations

import numpy as np

import matcalc
from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.pipeline import read_back
from matcalc.verify import draw_inputs

DOC = {"name": "layer_norm", "dims": {"n": 6, "m": 5},
       "symbols": {"X": {"shape": ["n", "m"]}, "gamma": {"shape": ["m"]}, "beta": {"shape": ["m"]},
                   "G": {"shape": ["n", "m"], "props": ["constant"]},
                   "eps": {"shape": [], "props": ["positive", "constant"]}},
       "let": {"C": "X - mean(X, axis=1, keepdims=True)", "s": "sqrt(var(X, axis=1, keepdims=True) + eps)"},
       "expr": "sum(G * (gamma * C / s + beta))", "wrt": ["X", "gamma", "beta"]}

# the textbook backward pass, with Ybar = gamma * G the upstream gradient of the normalised X
HAND = ("(gamma * G - mean(gamma * G, axis=1, keepdims=True)"
        " - C / s * mean(gamma * G * C / s, axis=1, keepdims=True)) / s")


def test_layer_norm_gradient_is_written_in_the_users_names_and_is_short():
    d = matcalc.derive(DOC)
    assert d.verified
    r = d.results["X"]
    assert r.text == ("(gamma * G - sum(gamma * G, axis=1, keepdims=True) / m) / s"
                      " - C * sum(gamma * C * G, axis=1, keepdims=True) / (m * s ** 3)")
    lets = [(n, e) for n, e in r.let]
    mine = read_back(r.text, [(n, t) for n, t in DOC["let"].items()], d.problem, r.shape)
    hand = read_back(HAND, [(n, t) for n, t in DOC["let"].items()], d.problem, r.shape)
    named = lambda text: read_back(text, [], _named_problem(d), r.shape)   # noqa: E731
    assert ir.written_size(named(r.text)) <= 1.25 * ir.written_size(named(HAND))
    values = draw_inputs(d.problem.expr, d.problem.symbols, d.problem.dims, np.random.default_rng(0))
    grad = d.function().grad_X(**values)
    assert np.allclose(evaluate(mine, values, d.problem.dims), grad, rtol=1e-10, atol=1e-12)
    assert np.allclose(evaluate(hand, values, d.problem.dims), grad, rtol=1e-10, atol=1e-12)
    assert lets and {n for n, _ in lets} == {"C", "s"}


def _named_problem(d):
    """The problem with C and s as symbols of their own: operations counted as written."""
    from dataclasses import replace
    symbols = dict(d.problem.symbols, C=ir.Symbol(("n", "m"), "C"), s=ir.Symbol(("n", 1), "s"))
    return replace(d.problem, symbols=symbols)


ATTENTION = {"name": "attention", "dims": {"n": 6, "d": 4},
             "symbols": {"X": {"shape": ["n", "d"], "props": ["constant"]}, "Wq": {"shape": ["d", "d"]},
                         "Wk": {"shape": ["d", "d"]}, "Wv": {"shape": ["d", "d"]},
                         "G": {"shape": ["n", "d"], "props": ["constant"]}},
             "let": {"Q": "X @ Wq", "K": "X @ Wk", "V": "X @ Wv", "S": "softmax(Q @ K.T / sqrt(d), axis=1)"},
             "expr": "sum(G * (S @ V))", "wrt": ["Wq", "Wk", "Wv"]}


def test_attention_gradients_share_the_softmax_backward_with_the_row_sum_kept():
    """rules/keepdims.broadcast-outer-is-kept-reduction: G @ V.T - outer(sum(P, axis=1), ones(n))
    is G @ V.T - sum(P, axis=1, keepdims=True), so Wq and Wk read the same matrix."""
    d = matcalc.derive(ATTENTION)
    assert d.verified
    back = "S * (G @ V.T - sum(G @ V.T * S, axis=1, keepdims=True))"
    assert d.results["Wq"].text == f"X.T @ ({back} @ K) / sqrt(d)"
    assert d.results["Wk"].text == f"X.T @ (({back}).T @ Q) / sqrt(d)"
    assert d.results["Wv"].text == "X.T @ (S.T @ G)"
    values = draw_inputs(d.problem.expr, d.problem.symbols, d.problem.dims, np.random.default_rng(1))
    lets = list(ATTENTION["let"].items())
    for w in ("Wq", "Wk", "Wv"):
        r = d.results[w]
        text_value = evaluate(read_back(r.text, lets, d.problem, r.shape), values, d.problem.dims)
        assert np.allclose(text_value, getattr(d.function(), f"grad_{w}")(**values), rtol=1e-10, atol=1e-12)


def test_a_cholesky_of_a_let_name_reads_back():
    """letspec.let_symbol: a let (the user's or a result's named intermediate) carries the
    props its definition has by form, so cholesky((1 + s ** 2) * T1) with T1 = M @ M.T + eye(n)
    parses again (the random campaign found the result's text refused: 'cannot tell that
    (1 + s13 ** 2) * T1 is symmetric')."""
    import fuzz_check

    doc = {"name": "fuzz", "dims": {"n": 3, "m": 4},
           "symbols": {"M14": {"shape": ["n", "n"], "props": ["positive"]}, "M15": {"shape": ["n", "n"]},
                       "G": {"shape": ["n", "n"], "props": ["constant"]}, "s13": {"shape": []}},
           "expr": "sum(G * cholesky((s13 ** 2 + 1) * (M14 @ M14.T + eye(n)))) + sum(M15 * M15)",
           "wrt": ["s13"]}
    outcome = fuzz_check.examine(doc)
    assert outcome.kind == "verified", outcome
    lets = {"K": "X @ X.T + eye(n)", "L": "cholesky(K)"}
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"X": {"shape": ["n", "n"]}}, "let": lets,
                        "expr": "sum(log(diag(L)))", "wrt": ["X"]})
    assert d.verified and d.results["X"].text == "inv(K) @ X"


def test_a_denominator_spread_is_not_drawn_degenerate():
    """verify/sample._signed_symbols: a denominator std(minimum(std(M0), z1)) made the
    sampler draw M0 and z1 positive, so every z1 exceeded std(M0), minimum(...) was
    constant and its std 0: the derivative 0/0 was judged wrong (campaign seed 20261210)."""
    doc = {"dims": {"n": 3, "m": 4}, "symbols": {"M0": {"shape": ["m", "n"]}, "z1": {"shape": ["m", "n"]}},
           "expr": "std(minimum(std(M0), z1))", "wrt": ["M0"]}
    d = matcalc.derive(doc)
    assert d.verification["M0"].status == "passed", d.verification["M0"].why
    assert d.results["M0"].text.endswith("/ (2 * m ** 2 * n ** 2 * std(M0) * std(minimum(std(M0), z1)))")


def test_erfc_of_a_huge_argument_in_60_digits():
    """ops/mp._erfc: mpmath's erfc overflows a float past |x| ~ 1e150 (a crash in the
    campaign); its asymptotic form is used there."""
    import mpmath

    from matcalc.ops import mp
    assert mp._FUNCS["erfc"](mpmath.mpf("1e300")) < mpmath.mpf("1e-1000")
    assert mp._FUNCS["erfc"](mpmath.mpf("-1e300")) == 2


def test_the_spread_of_a_constant_matrix_is_zero_and_has_no_derivative():
    """rules/keepdims.reduction-of-a-constant: mean(c * ones(m, n)) = c and std of it is 0,
    so std(minimum(std(M0), ones(m, n))) (every entry the same) is refused as 0/0 with a
    clear message; before, rounding made its gradient a finite wrong number (seed 20261210)."""
    import pytest

    from matcalc.errors import DerivationError
    doc = {"dims": {"n": 3, "m": 4}, "symbols": {"M0": {"shape": ["m", "n"]}},
           "expr": "std(minimum(std(M0), ones(m, n)))", "wrt": ["M0"]}
    with pytest.raises(DerivationError, match="0/0"):
        matcalc.derive(doc)
    d = matcalc.derive({"dims": {"n": 3}, "symbols": {"s": {"shape": []}},
                        "expr": "sum(exp(s) - mean(exp(s) * ones(n, n)))", "wrt": ["s"]})
    assert d.verified and d.results["s"].text == "0"


def test_a_derivative_that_is_zero_over_zero_is_seen_as_such():
    """evaluate.zero_over_zero (the verifier's guard: such a formula is not judged, never
    failed as wrong) and rules/keepdims.spread-of-equal-entries (which now refuses it up
    front): std(v0 @ (M2 * ones(n))) is the spread of n equal entries; its chain-rule
    derivative is 0/0, which floats round to any number (seed 20261210)."""
    import pytest

    from matcalc.errors import DerivationError
    from matcalc.evaluate import zero_over_zero
    from matcalc.parse import parse
    from matcalc.verify.sample import draw_within

    doc = {"dims": {"n": 3, "m": 4}, "symbols": {"M2": {"shape": ["m", 1]}, "v0": {"shape": ["m"]}},
           "expr": "std(v0 @ (M2 * ones(n)), axis=0)", "wrt": ["M2"]}
    with pytest.raises(DerivationError, match="divides by zero"):
        matcalc.derive(doc)
    symbols = {"M2": ir.Symbol(("m", 1), "M2"), "v0": ir.Symbol(("m",), "v0")}
    dims = doc["dims"]
    V = "(M2 * ones(m, n)).T @ v0"
    formula = parse(f"sum(outer(v0, {V} - mean({V})), axis=1, keepdims=True) / (n * std({V}))", symbols, dims)
    point = draw_within((), [formula], symbols, dims, np.random.default_rng(0))
    assert zero_over_zero(formula, point, dims)
    # a regular formula is not flagged, at the same kind of point
    ok = matcalc.derive({"dims": {"n": 3, "m": 4}, "symbols": {"X": {"shape": ["m", "n"]}},
                         "expr": "sum(std(X, axis=0))", "wrt": ["X"]})
    p, r = ok.problem, ok.results["X"]
    point = draw_within((), [p.expr, r.matrix], p.symbols, p.dims, np.random.default_rng(0))
    assert ok.verified and not zero_over_zero(r.matrix, point, p.dims)
