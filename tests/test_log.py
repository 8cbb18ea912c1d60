"""The derivation is the engine's log (design.md item 4): the steps a person reads
are what the reverse sweep recorded while deriving, tidied once by the pipeline;
the steps are made from that log once (when first printed, or by
``make_steps()``); printing a finished Derivation differentiates and simplifies nothing, gives the
same text every time, and the steps still arrive at the engine's result (numbers
and printed form)."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc import differentiate, pipeline
from matcalc.evaluate import evaluate
from matcalc.matrix import simplify as simplify_module
from matcalc.matrix.rule import Rule, Step
from matcalc.render.blocks import build, rules_fired
from matcalc.render.document import to_console_lines
from matcalc.steps import consistent
from matcalc.verify import draw_inputs

from cases import REQUIRED

SOFTMAX_CE = next(c for c in REQUIRED if c.id == "softmax_ce")
MLP = {"name": "mlp", "dims": {"n": 4, "d": 3, "h": 5, "k": 2},
       "symbols": {"X": {"shape": ["n", "d"]}, "W1": {"shape": ["d", "h"]}, "W2": {"shape": ["h", "k"]},
                   "Y": {"shape": ["n", "k"], "props": ["onehot"]}},
       "expr": "-sum(Y * log(softmax(tanh(X @ W1) @ W2, axis=1))) / n", "wrt": ["W1", "W2"]}


def _texts(d) -> tuple[str, str, str]:
    console = "\n".join(line for _, line in to_console_lines(build(d), 100))
    return d.latex(), d.markdown(), console


def _refuse(*_, **__):
    raise AssertionError("the printer ran the engine")


def test_printing_a_finished_derivation_runs_no_engine(monkeypatch):
    d = matcalc.derive(MLP, verify=False).make_steps()
    for module, name in ((differentiate, "backprop"), (differentiate, "gradients"), (pipeline, "backprop"),
                         (pipeline, "gradients"), (simplify_module, "simplify"), (pipeline, "simplify"),
                         (pipeline, "explain"), (pipeline, "entrywise"), (pipeline, "record")):
        monkeypatch.setattr(module, name, _refuse)
    latex, md, console = _texts(d)
    assert "Name the intermediates" in md and "∂J/∂Z" in console and "\\boxed" in latex


def test_printing_twice_gives_the_same_text():
    d = matcalc.derive(MLP, verify=False)
    assert _texts(d) == _texts(d)


def test_one_sweep_for_several_symbols_records_each_its_own_steps():
    d = matcalc.derive(MLP, verify=False)
    p = d.problem
    work_expr = d.problem.expr
    for name in ("W1", "W2"):
        r = d.results[name]
        alone: list = []
        differentiate.backprop(work_expr, p.symbols[name], steps=alone)
        assert [(s.node, s.adjoint, s.contributions) for s in r.steps] == \
               [(s.node, s.adjoint, s.contributions) for s in alone]
    # W2 is nearer J: its sweep passes fewer nodes than W1's
    assert 0 < len(d.results["W2"].steps) < len(d.results["W1"].steps)


def test_the_steps_are_the_sweeps_adjoints_and_agree_with_the_result():
    d = matcalc.derive(MLP, verify=False)
    p = d.problem
    for name in ("W1", "W2"):
        r = d.results[name]
        ex = r.explanation
        assert [a.target for a in ex.adjoints][-1] == name
        assert consistent(p, ex, r.matrix)
        # each recorded adjoint is the sweep's G of that node, named: put the names
        # back and it is the number the sweep's own adjoint gives
        swept = {s.node: s.adjoint for s in r.steps}
        from matcalc.record import unname
        values = draw_inputs([p.expr], p.symbols, p.dims, np.random.default_rng(1))
        for adj, definition in ((a, next(df for df in ex.definitions if df.name == a.target))
                                for a in ex.adjoints if a.target != name):
            full = unname(adj.total, ex.definitions)
            if any(s.name.startswith("∂") for s in full.symbols):
                continue        # written from a long adjoint's name
            np.testing.assert_allclose(evaluate(full, values, p.dims),
                                       evaluate(swept[definition.full], values, p.dims), rtol=1e-9, atol=1e-12)
    assert d.results["W2"].text == "tanh(X @ W1).T @ (softmax(tanh(X @ W1) @ W2, axis=1) - Y) / n"


def test_softmax_cross_entropy_steps_print_the_recorded_adjoints():
    d = matcalc.derive(SOFTMAX_CE.doc(), verify=False)
    r = d.results["W"]
    assert r.text == SOFTMAX_CE.expected
    assert [a.target for a in r.record.adjoints] == ["S", "Z", "W"]
    assert [f.kind for f in r.record.facts] == ["onehot"]
    console = " ".join(" ".join(line.split()) for _, line in to_console_lines(build(d), 100))
    assert "∂J/∂Z = S − Y [n, k] using Σ_j Y_ij = 1 (each row of Y is one-hot)" in console
    assert "∂J/∂W = Xᵀ(S − Y) [m, k]" in console
    assert consistent(d.problem, r.explanation, r.matrix)


def test_hessian_records_its_gradient_sweep():
    case = next(c for c in REQUIRED if c.order == 2)
    d = matcalc.derive(case.doc(), verify=False)
    r = d.results[case.wrt]
    assert r.kind == "hessian" and r.steps            # the sweep of the gradient it differentiates
    assert r.entrywise is not None and r.explanation is None
    assert r.text == case.expected


# -- the rules that fired ------------------------------------------------------------

TRANSPOSE = Rule("transpose_of_product", "(A B)ᵀ = Bᵀ Aᵀ", ("transpose",), cookbook="(4)")
ROWS = Rule("rows_sum_to_one", "Σ_j Y_ij = 1", ("sum",), requires=("onehot",))
HIDDEN = Rule("flatten", "", ("add",))        # no identity a person reads: not shown


def test_rules_line_is_short_and_only_readable_rules():
    one = matcalc.derive(SOFTMAX_CE.doc(), verify=False).results["W"].matrix
    log = (Step(TRANSPOSE, one, one), Step(HIDDEN, one, one), Step(TRANSPOSE, one, one), Step(ROWS, one, one))
    assert rules_fired(log) == ["transpose of product"]      # a prop's rule: the "using" sentence says it
    many = tuple(Step(Rule(f"rule_{i}", f"x{i} = y{i}", ()), one, one) for i in range(7))
    assert rules_fired(many) == ["rule 0", "rule 1", "rule 2", "rule 3", "..."]
    assert rules_fired(()) == []


def _logging_simplify(real):
    """The simplifier as the rules branch will have it: it takes ``log=`` and
    appends a Step for every rule that fired (here: a fake one per call that changed something)."""
    def simplify(expr, notes=None, log=None):
        out = real(expr, notes=notes)
        if log is not None and out != expr:
            log.append(Step(TRANSPOSE, expr, out))
            log.append(Step(HIDDEN, expr, out))
        return out
    return simplify


def test_the_steps_say_which_rules_fired_when_the_simplifier_logs_them(monkeypatch):
    monkeypatch.setattr(pipeline, "simplify", _logging_simplify(pipeline.simplify))
    monkeypatch.setattr(pipeline, "_SIMPLIFY_LOGS", True)
    d = matcalc.derive(SOFTMAX_CE.doc(), verify=False)
    r = d.results["W"]
    assert r.rules and all(s.rule in (TRANSPOSE, HIDDEN) for s in r.rules)
    assert any(a.rules for a in r.record.adjoints)
    latex, md, console = _texts(d)
    lines = [ln.strip() for ln in console.splitlines()]
    shown = [ln for ln in lines if "rules:" in ln]
    assert shown and all(ln.endswith("rules: transpose of product") for ln in shown)
    assert "using Σ_j Y_ij = 1 (each row of Y is one-hot); rules: transpose of product" in lines
    assert len(shown) <= len(r.record.adjoints)          # at most one short line per adjoint
    assert "rules: transpose of product" in md and "rules: transpose of product" in latex
    assert "flatten" not in console
    # the answer is the same with or without the log
    assert r.text == SOFTMAX_CE.expected


def test_the_real_simplifiers_rules_are_named_as_matcalc_rules_lists_them():
    from matcalc.matrix.rules import rule_named

    d = matcalc.derive(SOFTMAX_CE.doc(), verify=False)
    lines = [ln.split("rules: ", 1)[1] for ln in d.markdown().splitlines() if "rules: " in ln]
    assert lines
    for line in lines:
        for name in line.rstrip("$ .").split(", "):
            assert name == "..." or rule_named(name.strip()) is not None, name
    assert "prop-rows-sum-to-one" not in d.markdown()      # said by the "using" sentence instead


@pytest.mark.parametrize("case", [c for c in REQUIRED if c.order == 1 and c.id.startswith("jacobian")],
                         ids=lambda c: c.id)
def test_jacobian_steps_are_formatted_entry_by_entry(case):
    d = matcalc.derive(case.doc(), verify=False)
    r = d.results[case.wrt]
    assert r.explanation is None and r.entrywise is not None
    assert r.text == case.expected


def test_steps_are_made_once_from_the_log_when_first_asked_for(monkeypatch):
    """Deriving does not pay for steps nobody prints; the first print makes them from the
    recorded log (no second sweep), later prints reuse them."""
    calls = []
    real = pipeline.record
    monkeypatch.setattr(pipeline, "record", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(differentiate, "backprop", _refuse)
    d = matcalc.derive(MLP, verify=False)
    assert calls == []
    first = _texts(d)
    assert len(calls) == 2 and _texts(d) == first and len(calls) == 2
