"""Derivation time of a deep chain (issue 16): the gradients of an L-layer network
w.r.t. its L weights share the forward chain and the adjoints, and the rewrite
engine tidies what they share once (:mod:`matcalc.matrix.work`), so its work grows
about linearly in L, not as L² (one fresh engine per gradient) or L³ (the ``let``
names looked up again for every gradient).

The work is counted, not timed (:meth:`matcalc.matrix.work.Work.counts`): nodes the
rules were computed at, elementwise subtrees given to sympy, simplify calls.  Sharing
changes no result: each gradient's form, log of rules and facts are those a fresh
engine gives, and the numbers check.  ``bench/derive_scaling.py`` times it.
"""

from __future__ import annotations

import pytest

import matcalc
from matcalc import ir, pipeline
from matcalc.matrix.algebra import budget
from matcalc.matrix.simplify import simplify
from matcalc.matrix.work import shared
from matcalc.shapes import known_sizes


def chain_doc(L: int, variant: str = "plain") -> dict:
    """An L-layer tanh chain w.r.t. every weight (as bench/derive_scaling.py builds it)."""
    symbols = {"X": {"shape": ["d", "n"]}, "Y": {"shape": ["d", "n"]}}
    symbols.update({f"W{i}": {"shape": ["d", "d"]} for i in range(1, L + 1)})
    doc = {"name": f"chain_{variant}_{L}", "dims": {"n": 5, "d": 3}, "symbols": symbols,
           "wrt": [f"W{i}" for i in range(1, L + 1)]}
    if variant == "let":
        doc["let"] = {f"H{i}": f"tanh(W{i} @ {'X' if i == 1 else f'H{i - 1}'})" for i in range(1, L + 1)}
        doc["expr"] = f"sum((H{L} - Y) ** 2)"
        return doc
    e = "X"
    for i in range(1, L + (variant != "softmax")):
        e = f"tanh(W{i} @ {e})"
    doc["expr"] = (f"-sum(Y * log(softmax(W{L} @ {e}, axis=0))) / n" if variant == "softmax"
                   else f"sum(({e} - Y) ** 2)")
    return doc


def work_of(doc: dict) -> dict[str, int]:
    with shared() as work:
        matcalc.derive(doc, verify=False)
    return work.counts()


@pytest.mark.parametrize("variant", ["plain", "let", "softmax"])
def test_the_engine_work_grows_at_most_as_L_to_the_1_5(variant):
    small, big = work_of(chain_doc(4, variant)), work_of(chain_doc(16, variant))
    bound = (16 / 4) ** 1.5         # 8; one fresh engine per gradient made it ~16 (L²), lets ~64
    for what in ("nodes", "sympy", "calls"):
        assert 0 < big[what] <= bound * small[what], (what, small, big)
    # in fact about linear: the shared parts are tidied once
    assert big["nodes"] <= 4.5 * small["nodes"], (small, big)


def _fresh(raw: ir.Expr, shape) -> tuple[ir.Expr, list, list]:
    facts, rules = [], []
    return pipeline.tidy(raw, shape, facts, rules), facts, rules


def _log(rules) -> list[tuple[str, str, str]]:
    return [(s.rule.name, ir.digest(s.before), ir.digest(s.after)) for s in rules]


@pytest.mark.parametrize("variant", ["plain", "let", "softmax"])
def test_each_gradient_is_what_a_fresh_engine_gives_it_log_included(variant):
    d = matcalc.derive(chain_doc(5, variant), verify=False)
    assert list(d.results) == ["W1", "W2", "W3", "W4", "W5"]
    with known_sizes(d.problem.dims), budget():      # outside shared(): a fresh engine per call
        for r in d.results.values():
            matrix, facts, rules = _fresh(r.raw, r.shape)
            assert ir.digest(matrix) == ir.digest(r.matrix), r.symbol
            assert r.rules and _log(rules) == _log(r.rules), r.symbol
            assert facts == r.facts, r.symbol


def test_a_call_that_meets_a_known_subtree_logs_its_rules_again():
    d = matcalc.derive(chain_doc(3), verify=False)
    raw = d.results["W1"].raw
    with known_sizes(d.problem.dims), budget():
        alone: list = []
        expected = simplify(raw, log=alone)
        with shared() as work:
            first: list = []
            simplify(raw, log=first)
            computed = work.counts()["nodes"]
            again: list = []
            out = simplify(raw, log=again)
            assert work.counts()["nodes"] == computed       # all from the memo
    assert ir.digest(out) == ir.digest(expected)
    assert _log(again) == _log(first) == _log(alone) and alone


def test_the_chain_gradients_check_and_read_as_written():
    d = matcalc.derive(chain_doc(2))
    assert d.verified
    assert d.results["W2"].text == "2 * (1 - tanh(W2 @ tanh(W1 @ X)) ** 2) * (tanh(W2 @ tanh(W1 @ X)) - Y) @ tanh(W1 @ X).T"
    assert d.results["W1"].text == ("W2.T @ (2 * (1 - tanh(W2 @ tanh(W1 @ X)) ** 2) * (tanh(W2 @ tanh(W1 @ X)) - Y))"
                                    " * (1 - tanh(W1 @ X) ** 2) @ X.T")
    named = matcalc.derive(chain_doc(2, "let"))
    assert named.verified
    assert named.results["W1"].text == "W2.T @ (2 * (1 - H2 ** 2) * (H2 - Y)) * (1 - H1 ** 2) @ X.T"
    assert named.results["W2"].text == "2 * (1 - H2 ** 2) * (H2 - Y) @ H1.T"


def test_a_deep_chain_checks():
    d = matcalc.derive(chain_doc(8, "softmax"))
    assert d.verified and set(d.results) == {f"W{i}" for i in range(1, 9)}


def test_a_form_kept_past_the_time_budget_is_not_reused_by_a_call_with_time():
    d = matcalc.derive(chain_doc(3), verify=False)
    raw = d.results["W1"].raw
    with known_sizes(d.problem.dims):
        with budget():
            expected = simplify(raw)
        with shared() as work:
            with budget(0):             # out of time: the chain rule's own form
                hurried = simplify(raw)
            with budget():
                again = simplify(raw)
            assert work.counts()["sympy"] > 0
    assert ir.digest(hurried) != ir.digest(expected)
    assert ir.digest(again) == ir.digest(expected)
