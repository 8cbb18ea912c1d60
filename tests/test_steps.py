"""The derivation shown arrives at the right answer: for every required gradient,
the answer the steps arrive at (intermediates put back) equals, numerically, the
form a careful person writes by hand (tests/cases.py, written from the mathematics,
not from matcalc: the steps are the engine's own log, so comparing them with the
engine's result would compare the engine with itself), and the steps name the props
they used."""

from __future__ import annotations

import pytest

import matcalc
from matcalc.parse import parse
from matcalc.steps import consistent, entrywise, explain

from cases import REQUIRED

GRADIENTS = [c for c in REQUIRED if c.order == 1 and c.id not in ("jacobian_softmax", "jacobian_linear")]


@pytest.mark.parametrize("case", GRADIENTS, ids=lambda c: c.id)
def test_steps_agree_with_the_result(case):
    d = matcalc.derive(case.doc(), verify=False)
    ex = explain(d.problem, d.results[case.wrt])
    assert ex is not None and ex.adjoints
    hand = parse(case.hand, d.problem.symbols, d.problem.dims)
    assert consistent(d.problem, ex, hand)


def test_softmax_cross_entropy_names_the_onehot_fact():
    case = next(c for c in REQUIRED if c.id == "softmax_ce")
    d = matcalc.derive(case.doc(), verify=False)
    ex = explain(d.problem, d.results["W"])
    assert [f.kind for f in ex.facts] == ["onehot"]
    assert [df.name for df in ex.definitions] == ["Z", "S"]


def test_softmax_jacobian_entry_by_entry():
    case = next(c for c in REQUIRED if c.id == "jacobian_softmax")
    d = matcalc.derive(case.doc(), verify=False)
    ew = entrywise(d.problem, d.results["x"])
    from matcalc.render.unicode import index_unicode
    assert index_unicode(ew.derivative) == "S_i δ_iq − S_i S_q"
