"""The derivation shown is the derivation made: for every required gradient,
the answer the steps arrive at (intermediates put back) equals the engine's
result numerically, and the steps name the props they used."""

from __future__ import annotations

import pytest

import matcalc
from matcalc.steps import consistent, entrywise, explain

from cases import REQUIRED

GRADIENTS = [c for c in REQUIRED if c.order == 1 and c.id not in ("jacobian_softmax", "jacobian_linear")]


@pytest.mark.parametrize("case", GRADIENTS, ids=lambda c: c.id)
def test_steps_agree_with_the_result(case):
    d = matcalc.derive(case.doc(), verify=False)
    ex = explain(d.problem, d.results[case.wrt])
    assert ex is not None and ex.adjoints
    assert consistent(d.problem, ex, d.results[case.wrt].matrix)


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
