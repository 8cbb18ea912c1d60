"""The simplifier's rules as data: each new identity fires by name, with the form
checked and the numbers checked (the derivation's own finite-difference
verification, or numpy evaluating both sides); the log names the rules that
fired; ``matcalc rules`` lists them."""

from __future__ import annotations

import numpy as np
import pytest
from support import compact_doc, run_cli

import matcalc
from matcalc import ir
from matcalc.evaluate import evaluate
from matcalc.matrix.rules import all_rules, licensed_by, rule_named, rule_table
from matcalc.matrix.simplify import simplify
from matcalc.parse import parse
from matcalc.props import PROPS
from matcalc.render.text import to_text

DIMS = {"n": 3, "m": 4}


def _symbols(decls: str) -> dict[str, ir.Symbol]:
    out = {}
    for decl in decls.split():
        name, shape, *props = decl.split(":")
        dims = tuple(int(d) if d.isdigit() else d for d in shape.strip("[]").split(",") if d)
        out[name] = ir.Symbol(shape=dims, name=name, props=frozenset(props[0].split(",")) if props else frozenset())
    return out


@pytest.mark.parametrize("expr, symbols, form, rule", [
    ("trace(c * A)", "c:[] A:[n,n]", "c * trace(A)", "trace-of-scaled"),
    ("X @ inv(X.T @ X)", "X:[n,n]", "inv(X).T", "inverse-of-product"),
    ("X.T @ B.T + B.T @ X.T", "X:[n,n] B:[n,n]", "(B @ X + X @ B).T", "fold-transposes"),
    ("det(A @ X) / det(X)", "A:[n,n] X:[n,n]", "det(A)", "det-product"),
    ("exp(log_softmax(X, axis=1))", "X:[n,m]", "softmax(X, axis=1)", "exp-of-log-form"),
    ("sum(diag(v) @ M, axis=1)", "v:[n] M:[n,m]", "sum(M, axis=1) * v", "sum-of-diag-product"),
    ("softmax(X + c, axis=1)", "X:[n,m] c:[]", "softmax(X, axis=1)", "softmax-shift"),
    ("ones(m, m) @ Y.T", "Y:[n,m]:stochastic", "ones(m, n)", "prop-unit-rows-times-ones"),
])
def test_a_rule_fires_and_keeps_the_value(expr, symbols, form, rule):
    syms = _symbols(symbols)
    e = parse(expr, syms, DIMS)
    log: list = []
    out = simplify(e, log=log)
    assert to_text(out) == form
    assert rule in [step.rule.name for step in log]
    rng = np.random.default_rng(0)
    values = {name: rng.standard_normal(tuple(DIMS.get(d, d) for d in s.shape)) for name, s in syms.items()}
    for name, s in syms.items():
        if "stochastic" in s.props:          # rows that are probability vectors
            values[name] = np.exp(values[name]) / np.exp(values[name]).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(evaluate(out, values, DIMS), evaluate(e, values, DIMS), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("expr, symbols, wrt, form", [
    # Cookbook eq. 49 and 57 through a product of square factors: (A X B)⁻¹ = B⁻¹ X⁻¹ A⁻¹
    ("det(A @ X @ B)", "A:[n,n] X:[n,n] B:[n,n]", "X", "det(A @ X @ B) * inv(X).T"),
    ("logdet(A @ X @ B)", "A:[n,n] X:[n,n] B:[n,n]", "X", "inv(X).T"),
    # ∂ tr(X B X) / ∂X = (B X + X B)ᵀ (Cookbook eq. 106 style), folded under one transpose
    ("trace(X @ B @ X)", "X:[n,n] B:[n,n]", "X", "(B @ X + X @ B).T"),
    ("trace(A @ inv(X.T @ X) @ X.T)", "A:[n,n] X:[n,n]", "A", "inv(X).T"),
    ("det(A @ X) / det(X)", "A:[n,n] X:[n,n]", "A", "det(A) * inv(A).T"),
    # identically zero: the rows of a softmax sum to 1
    ("v @ softmax(X, axis=1) @ ones(m)", "v:[n] X:[n,m]", "X", "0"),
    ("sum(v * sum(softmax(X, axis=1), axis=1))", "v:[n] X:[n,m]", "X", "0"),
    ("sum(exp(log_softmax(X @ W, axis=1)))", "X:[n,m] W:[m,n]", "W", "0"),
    # softmax(X W) Y has rows summing to 1 when Y's rows do: its sum is the constant n (18 ops before)
    ("sum(softmax(X @ W, axis=1) @ Y)", "X:[n,m] W:[m,n] Y:[n,m]:stochastic", "W", "0"),
    # softmax is unchanged by a scalar shift: the difference of the two logsumexps is the constant -1
    ("logsumexp(W @ x) - logsumexp(W @ x + 1)", "x:[n] W:[n,n]", "W", "0"),
])
def test_derivatives_the_new_rules_shorten(expr, symbols, wrt, form):
    d = matcalc.derive(compact_doc(expr, symbols, wrt))
    assert d.verification[wrt].passed
    assert d.results[wrt].text == form


def test_the_log_names_each_firing_and_notes_keep_the_facts():
    syms = _symbols("Y:[n,m]:onehot S:[n,n]:symmetric")
    log: list = []
    notes: list = []
    out = simplify(parse("sum(Y, axis=1) + diag(S.T)", syms, DIMS), notes=notes, log=log)
    assert to_text(out) == "1 + diag(S)"
    names = [step.rule.name for step in log]
    assert "prop-rows-sum-to-one" in names and "prop-symmetric" in names
    assert {f.kind for f in notes} == {"onehot", "symmetric"}
    step = next(s for s in log if s.rule.name == "prop-rows-sum-to-one")
    assert step.fact is not None and step.fact.kind == "onehot"
    assert PROPS["onehot"].says("Y") == "each row of Y is one-hot, so it sums to 1"


def test_every_rule_is_named_once_documented_and_the_props_rows_name_theirs():
    rules = all_rules()
    assert len({r.name for r in rules}) == len(rules)
    assert all(r.identity for r in rules)
    for prop in PROPS.values():
        for r in licensed_by(prop.name):
            assert prop.name in r.requires
    for r in rules:
        for prop in r.requires:
            assert r.name in PROPS[prop].rules
    assert rule_named("det-product").cookbook == "21"


def test_the_rules_command_lists_every_rule():
    result = run_cli("rules")
    assert result.exit_code == 0
    out = result.output
    for name, identity, _, _ in rule_table():
        assert name in out
    assert "det(A B) = det(A) det(B)" in out
    assert "tr(c A) = c tr(A)" in out
    assert "needs: onehot, stochastic" in out
    assert "Cookbook (21)" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_the_rules_command_lists_how_the_emitted_code_computes():
    """``matcalc rules --code``: every stable form, code rewrite and emission rule by name,
    with the ops it is registered under and its identity, at 80 columns."""
    from matcalc.ops import CODE_REWRITES, EMIT_RULES, REWRITES
    result = run_cli("rules", "--code")
    assert result.exit_code == 0
    out = result.output
    for table in (REWRITES, CODE_REWRITES, EMIT_RULES):
        for rules in table.values():
            for rule in rules:
                assert f"  {rule.name}  (on " in out, rule.name
    assert "Code rewrites" in out and "Emission rules" in out
    assert "1 - σ(x) = σ(-x)" in out and "(Bᵀ Aᵀ)ᵀ" in out
    assert "tall-product  (on mul, div, add, sub and " in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "det(A B) = det(A) det(B)" not in out          # the simplifier's rules: matcalc rules
