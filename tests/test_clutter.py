"""Clutter that printed before issue 14, each removed by a general named rule (or
fact) in matcalc/matrix/rules/: the form a careful person writes, checked by value
(the rule alone, at random inputs) and through a derivation that produces it
(its emitted code checked against finite differences)."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.matrix.rules import rule_named
from matcalc.matrix.simplify import simplify
from matcalc.parse import parse
from matcalc.render.text import to_text

DIMS = {"n": 4, "m": 3}
SYMBOLS = {
    "K": ir.Symbol(shape=("n", "n"), name="K", props=frozenset({"symmetric"})),
    "B": ir.Symbol(shape=("n", "n"), name="B", props=frozenset({"symmetric"})),
    "A": ir.Symbol(shape=("n", "n"), name="A", props=frozenset({"symmetric"})),
    "X": ir.Symbol(shape=("n", "m"), name="X"),
    "S": ir.Symbol(shape=("n", "m"), name="S"),
    "M": ir.Symbol(shape=("m", "m"), name="M"),
    "N": ir.Symbol(shape=("n", "n"), name="N"),
}


def _values(rng):
    out = {}
    for name, s in SYMBOLS.items():
        v = rng.uniform(0.5, 1.5, size=tuple(DIMS[d] for d in s.shape))
        out[name] = (v + v.T) / 2 if "symmetric" in s.props else v
    return out


@pytest.mark.parametrize("before, after, rule", [
    ("diag(sum(eye(n), axis=1)) @ S", "S", "sum-of-eye"),
    ("sum(eye(n), axis=0)", "ones(n)", "sum-of-eye"),
    ("sum(eye(n))", "n", "sum-of-eye"),
    ("diag(ones(n)) @ S", "S", None),
    ("diag(ones(n))", "eye(n)", None),
    ("trace(eye(n)) * N", "n * N", "trace-of-eye"),
    ("K @ B @ K / 2 + K @ B @ K / 2", "K @ B @ K", None),
    ("K @ (B @ K) / 2 + K @ B @ K / 2", "K @ B @ K", None),
    ("2 * X @ (1 / (2 * sqrt(M)))", "X @ (1 / sqrt(M))", "cancel-common-number"),
    ("2 * (1 / (2 * sqrt(N))) @ X", "1 / sqrt(N) @ X", None),
    ("6 * X @ (1 / (4 * exp(M)))", "3 * X @ exp(-M) / 2", None),
    ("6 * X @ (1 / (4 * sqrt(M)))", "3 * X @ (1 / sqrt(M)) / 2", "cancel-common-number"),
    ("A @ (X @ (inv(X.T @ A @ X) + inv(X.T @ A @ X).T))", "2 * A @ (X @ inv(X.T @ A @ X))", "prop-symmetric"),
])
def test_rule_form_and_value(before, after, rule):
    e = parse(before, SYMBOLS, DIMS)
    log: list = []
    out = simplify(e, log=log)
    assert to_text(out) == after
    assert ir.tree_size(out) <= ir.tree_size(e)
    if rule is not None:
        assert rule in {s.rule.name for s in log}
    values = _values(np.random.default_rng(7))
    np.testing.assert_allclose(evaluate(out, values, DIMS), evaluate(e, values, DIMS) * np.ones(out.shape and
                               tuple(DIMS[d] for d in out.shape) or ()), rtol=1e-12)


def test_the_rules_are_listed_with_their_identities():
    assert "δ_ij" in rule_named("sum-of-eye").identity
    assert "cancels" in rule_named("cancel-common-number").identity


def test_congruence_is_symmetric():
    from matcalc.matrix.rules.common import is_symmetric

    assert is_symmetric(parse("X.T @ A @ X", SYMBOLS, DIMS))
    assert is_symmetric(parse("X.T @ (A @ X)", SYMBOLS, DIMS))
    assert is_symmetric(parse("N.T @ A @ A @ N", SYMBOLS, DIMS))
    assert not is_symmetric(parse("X.T @ N @ X", SYMBOLS, DIMS))      # N is not symmetric
    assert not is_symmetric(parse("N @ A @ N", SYMBOLS, DIMS))        # no transpose
    assert not is_symmetric(parse("N.T @ A @ K", SYMBOLS, DIMS))


def _derive(expr, symbols, wrt):
    return matcalc.derive({"name": "clutter", "dims": DIMS, "symbols": symbols, "expr": expr, "wrt": [wrt]})


@pytest.mark.parametrize("expr, symbols, wrt, text", [
    ("sum(G * (diag(sum(eye(n), axis=1)) @ S))", {"S": {"shape": ["n", "m"]}, "G": {"shape": ["n", "m"]}}, "S", "G"),
    ("logdet(X.T @ A @ X)", {"X": {"shape": ["n", "m"]}, "A": {"shape": ["n", "n"], "props": ["spd"]}}, "X",
     "2 * A @ X @ inv(X.T @ A @ X)"),
    ("sum(sqrt(X.T @ X))", {"X": {"shape": ["n", "m"]}}, "X", "X @ (1 / sqrt(X.T @ X))"),
    ("sum(sqrt(X @ X.T))", {"X": {"shape": ["n", "m"]}}, "X", "1 / sqrt(X @ X.T) @ X"),
    ("sum(sqrt(X.T @ X + C))", {"X": {"shape": ["n", "m"]}, "C": {"shape": ["m", "m"], "props": ["symmetric"]}},
     "X", "X @ (1 / sqrt(C + X.T @ X))"),
    ("trace(K @ B @ K @ B) / 4", {"K": {"shape": ["n", "n"], "props": ["symmetric"]},
                                  "B": {"shape": ["n", "n"], "props": ["symmetric"]}}, "B", "K @ (B @ K) / 2"),
])
def test_derivations_that_printed_the_clutter(expr, symbols, wrt, text):
    d = _derive(expr, symbols, wrt)
    assert d.results[wrt].text == text
    assert d.verified
